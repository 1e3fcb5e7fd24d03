"""Section 4, best execution and transaction cost analysis (formulas: docs/compliance.md).

Per order: the decision price (the close of the bar the signal saw), the arrival price (the
reference price the risk engine checked at submission), the average fill price; slippage in
basis points against each and against the interval VWAP of the recorded bars; the
implementation shortfall split into delay, impact, fees and the opportunity cost of what did
not fill. Every amount is exact; only the basis points and averages are rounded, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from projections.queries.reports.compliance.bracket import (
    BracketedSum,
    Quotient,
    quotient,
    rounded_quotient,
    rounded_ratio_of_sums,
)
from projections.queries.reports.compliance.facts import ZERO, ComplianceFacts, OrderFact
from projections.queries.reports.compliance.format import (
    BPS_PLACES,
    NOT_AVAILABLE,
    PRICE_PLACES,
    bps,
    number,
    price,
    ratio,
    seconds,
)
from projections.queries.reports.document import Chart, ChartKind, Figure, Section, Series, Table

HISTOGRAM_BIN_BPS = 5


@dataclass(frozen=True)
class OrderCost:
    """One order's execution, every amount signed so that a cost is positive (computed once:
    the roll-ups read each order several times)."""

    order: OrderFact
    decision_price: Decimal
    arrival_price: Decimal
    filled: Decimal
    notional: Decimal
    fees: Decimal
    delay: Decimal
    impact: Decimal
    opportunity: Decimal
    shortfall: Decimal
    decision_cost: Decimal
    """What the fills cost against the decision price x the filled quantity."""
    arrival_cost: Decimal
    vwap: tuple[Decimal, Decimal] | None
    """The interval VWAP as (Σ typical price x volume, 3 x Σ volume)."""
    vwap_cost: Quotient | None
    """What the fills cost against the interval VWAP x the filled quantity."""
    vwap_base: Quotient | None
    """The interval VWAP x the filled quantity."""
    time_to_fill_us: int | None


def _cost(order: OrderFact, decision_price: Decimal, arrival_price: Decimal) -> OrderCost:
    sign, filled, notional, fees = order.sign, order.filled, order.notional, order.fees
    end_price = order.end_price if order.end_price is not None else decision_price
    delay = sign * (arrival_price - decision_price) * filled
    impact = sign * (notional - arrival_price * filled)
    opportunity = sign * (end_price - decision_price) * (order.quantity - filled)
    vwap = vwap_cost = vwap_base = None
    if order.vwap is not None and order.vwap[1]:
        value, volume3 = order.vwap[0], 3 * order.vwap[1]
        vwap = (value, volume3)
        # s x (N - V x q) and V x q with V = value / volume3, over the common denominator
        vwap_cost = quotient(sign * (volume3 * notional - value * filled), volume3)
        vwap_base = quotient(value * filled, volume3)
    return OrderCost(
        order,
        decision_price,
        arrival_price,
        filled,
        notional,
        fees,
        delay,
        impact,
        opportunity,
        delay + impact + fees + opportunity,
        sign * (notional - decision_price * filled),
        impact,
        vwap,
        vwap_cost,
        vwap_base,
        order.fills[-1].time_us - (order.submitted_us or 0) if order.fills else None,
    )


def order_costs(facts: ComplianceFacts) -> list[OrderCost]:
    """The orders sent in the period with a known decision or arrival price."""
    costs = []
    for order in facts.orders.values():
        if order.submitted_us is None or order.decision is None:
            continue
        decision = order.decision
        signal_price = decision.signal.bar_close if decision.signal else None
        decision_price = signal_price or decision.reference_price
        arrival_price = decision.reference_price or signal_price
        if decision_price is None or arrival_price is None:
            continue
        costs.append(_cost(order, decision_price, arrival_price))
    return costs


@dataclass(slots=True)
class _Sums:
    """What a roll-up adds up over its orders. Every sum is exact (120 digits; the VWAP's
    quotients bracketed), so the sums of the finest groups (venue, symbol and order type)
    ``merge`` into any coarser group's and the total's: each order is added up once."""

    orders: int = 0
    ordered: Decimal = ZERO
    filled: Decimal = ZERO
    decision_cost: Decimal = ZERO
    """Over the filled orders, as the two below and the VWAP's."""
    decision_base: Decimal = ZERO
    arrival_cost: Decimal = ZERO
    arrival_base: Decimal = ZERO
    vwap_cost: BracketedSum = field(default_factory=BracketedSum)
    vwap_base: BracketedSum = field(default_factory=BracketedSum)
    vwap_orders: int = 0
    delay: Decimal = ZERO
    impact: Decimal = ZERO
    fees: Decimal = ZERO
    opportunity: Decimal = ZERO
    shortfall: Decimal = ZERO
    waited_us: int = 0
    waits: int = 0

    def add(self, cost: OrderCost) -> None:
        filled = cost.filled
        self.orders += 1
        self.ordered += cost.order.quantity
        self.filled += filled
        self.delay += cost.delay
        self.impact += cost.impact
        self.fees += cost.fees
        self.opportunity += cost.opportunity
        self.shortfall += cost.shortfall
        if cost.time_to_fill_us is not None:
            self.waited_us += cost.time_to_fill_us
            self.waits += 1
        if not filled:
            return
        self.decision_cost += cost.decision_cost
        self.decision_base += cost.decision_price * filled
        self.arrival_cost += cost.arrival_cost
        self.arrival_base += cost.arrival_price * filled
        if cost.vwap_cost is not None and cost.vwap_base is not None:
            self.vwap_cost.add(cost.vwap_cost)
            self.vwap_base.add(cost.vwap_base)
            self.vwap_orders += 1

    def merge(self, other: _Sums) -> None:
        self.orders += other.orders
        self.ordered += other.ordered
        self.filled += other.filled
        self.decision_cost += other.decision_cost
        self.decision_base += other.decision_base
        self.arrival_cost += other.arrival_cost
        self.arrival_base += other.arrival_base
        self.vwap_cost.merge(other.vwap_cost)
        self.vwap_base.merge(other.vwap_base)
        self.vwap_orders += other.vwap_orders
        self.delay += other.delay
        self.impact += other.impact
        self.fees += other.fees
        self.opportunity += other.opportunity
        self.shortfall += other.shortfall
        self.waited_us += other.waited_us
        self.waits += other.waits


@dataclass(frozen=True)
class Rollup:
    orders: int
    ordered: Decimal
    filled: Decimal
    slippage_decision: str
    slippage_arrival: str
    slippage_vwap: str
    vwap_orders: int
    delay: Decimal
    impact: Decimal
    fees: Decimal
    opportunity: Decimal
    shortfall: Decimal
    time_to_fill: str


def rollup(sums: _Sums) -> Rollup:
    """Slippage is Σ cost against the benchmark / Σ benchmark x filled, in bps, over the
    filled orders (against the interval VWAP: those that have one)."""
    return Rollup(
        orders=sums.orders,
        ordered=sums.ordered,
        filled=sums.filled,
        slippage_decision=bps(sums.decision_cost, sums.decision_base),
        slippage_arrival=bps(sums.arrival_cost, sums.arrival_base),
        slippage_vwap=rounded_ratio_of_sums(sums.vwap_cost, sums.vwap_base, BPS_PLACES, scale=4),
        vwap_orders=sums.vwap_orders,
        delay=sums.delay,
        impact=sums.impact,
        fees=sums.fees,
        opportunity=sums.opportunity,
        shortfall=sums.shortfall,
        time_to_fill=seconds(sums.waited_us, sums.waits),
    )


Group = tuple[str, str, str]
"""The finest roll-up group: venue, symbol, order type."""


def _finest_sums(costs: list[OrderCost]) -> dict[Group, _Sums]:
    groups: dict[Group, _Sums] = {}
    for cost in costs:
        order = cost.order
        key = (order.venue, order.symbol, order.order_type)
        sums = groups.get(key)
        if sums is None:
            sums = groups[key] = _Sums()
        sums.add(cost)
    return groups


def _merged(parts: Iterable[_Sums]) -> _Sums:
    whole = _Sums()
    for part in parts:
        whole.merge(part)
    return whole


def _order_row(cost: OrderCost) -> tuple[str, ...]:
    order, vwap = cost.order, cost.vwap
    filled = cost.filled
    return (
        order.order_id,
        order.venue,
        order.symbol,
        order.order_type,
        order.side,
        number(order.quantity),
        number(filled),
        ratio(filled, order.quantity),
        number(cost.decision_price),
        number(cost.arrival_price),
        price(cost.notional, filled) if filled else NOT_AVAILABLE,
        rounded_quotient(*vwap, PRICE_PLACES) if vwap is not None else NOT_AVAILABLE,
        bps(cost.decision_cost, cost.decision_price * filled),
        bps(cost.arrival_cost, cost.arrival_price * filled),
        # cost / base against the VWAP: their common denominator cancels
        rounded_quotient(cost.vwap_cost.numerator.scaleb(4), cost.vwap_base.numerator, BPS_PLACES)
        if cost.vwap_cost is not None and cost.vwap_base is not None and filled
        else NOT_AVAILABLE,
        number(cost.delay),
        number(cost.impact),
        number(cost.fees),
        number(cost.opportunity),
        number(cost.shortfall),
        seconds(cost.time_to_fill_us, 1) if cost.time_to_fill_us is not None else NOT_AVAILABLE,
    )


ORDER_COLUMNS = (
    "order_id",
    "venue",
    "symbol",
    "type",
    "side",
    "quantity",
    "filled",
    "fill_rate",
    "decision_price",
    "arrival_price",
    "fill_price",
    "interval_vwap",
    "slippage_decision_bps",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "delay_cost",
    "impact_cost",
    "fees",
    "opportunity_cost",
    "shortfall",
    "time_to_fill_s",
)
PRICE_COLUMNS = 15
"""The orders table is shown as two (prices and slippage; costs), each keyed by order id, so
either fits a page."""


def _split(
    name: str,
    titles: tuple[str, str],
    columns: tuple[str, ...],
    rows: tuple[tuple[str, ...], ...],
    at: int,
) -> tuple[Table, Table]:
    return (
        Table(name, titles[0], columns[:at], tuple(row[:at] for row in rows)),
        Table(
            f"{name}_costs",
            titles[1],
            (columns[0], *columns[at:]),
            tuple((row[0], *row[at:]) for row in rows),
        ),
    )


ROLLUP_COLUMNS = (
    "orders",
    "quantity",
    "filled",
    "fill_rate",
    "slippage_decision_bps",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "avg_time_to_fill_s",
    "delay_cost",
    "impact_cost",
    "fees",
    "opportunity_cost",
    "shortfall",
)
ROLLUP_SLIPPAGE_COLUMNS = 9
"""Each roll-up is shown as two tables (slippage; costs), keyed by the group's name."""


def _rollup_rows(groups: dict[Group, _Sums], level: int) -> tuple[tuple[str, ...], ...]:
    """One row per name at ``level`` of the finest groups' key (0 venue, 1 symbol, 2 type)."""
    named: dict[str, list[_Sums]] = {}
    for key, sums in groups.items():
        named.setdefault(key[level], []).append(sums)
    rows = []
    for name in sorted(named):
        r = rollup(_merged(named[name]))
        rows.append(
            (
                name,
                str(r.orders),
                number(r.ordered),
                number(r.filled),
                ratio(r.filled, r.ordered),
                r.slippage_decision,
                r.slippage_arrival,
                r.slippage_vwap,
                r.time_to_fill,
                number(r.delay),
                number(r.impact),
                number(r.fees),
                number(r.opportunity),
                number(r.shortfall),
            )
        )
    return tuple(rows)


_ROLLUPS = (("venue", 0), ("symbol", 1), ("order_type", 2))


def _histogram(costs: list[OrderCost]) -> Series:
    """Orders by slippage against arrival, in bins of ``HISTOGRAM_BIN_BPS`` basis points."""
    bins: dict[int, int] = {}
    for cost in costs:
        if cost.filled:
            slip = cost.arrival_cost * 10_000 / (cost.arrival_price * cost.filled)
            low = int((slip / HISTOGRAM_BIN_BPS).to_integral_value(ROUND_FLOOR)) * HISTOGRAM_BIN_BPS
            bins[low] = bins.get(low, 0) + 1
    ordered = sorted(bins)
    return Series(
        "orders",
        tuple(f"[{low}, {low + HISTOGRAM_BIN_BPS})" for low in ordered),
        tuple(str(bins[low]) for low in ordered),
    )


def execution_section(facts: ComplianceFacts) -> Section:
    costs = order_costs(facts)
    groups = _finest_sums(costs)
    total = rollup(_merged(groups.values()))
    figures = (
        Figure("tca.orders", "Orders analysed", str(total.orders)),
        Figure("tca.ordered_quantity", "Quantity ordered", number(total.ordered)),
        Figure("tca.filled_quantity", "Quantity filled", number(total.filled)),
        Figure("tca.fill_rate", "Fill rate", ratio(total.filled, total.ordered)),
        Figure("tca.slippage_decision_bps", "Slippage vs decision (bps)", total.slippage_decision),
        Figure("tca.slippage_arrival_bps", "Slippage vs arrival (bps)", total.slippage_arrival),
        Figure("tca.slippage_vwap_bps", "Slippage vs interval VWAP (bps)", total.slippage_vwap),
        Figure("tca.vwap_orders", "Filled orders with an interval VWAP", str(total.vwap_orders)),
        Figure("tca.shortfall_delay", "Shortfall: delay", number(total.delay)),
        Figure("tca.shortfall_impact", "Shortfall: impact", number(total.impact)),
        Figure("tca.shortfall_fees", "Shortfall: fees", number(total.fees)),
        Figure("tca.shortfall_opportunity", "Shortfall: opportunity", number(total.opportunity)),
        Figure("tca.shortfall_total", "Implementation shortfall", number(total.shortfall)),
        Figure("tca.avg_time_to_fill_s", "Average time to fill (s)", total.time_to_fill),
    )
    notes = [
        "Costs are positive when they hurt the order: slippage = side x (fill - benchmark) / "
        "benchmark; shortfall = delay + impact + fees + opportunity (docs/compliance.md).",
    ]
    if total.vwap_orders == 0:
        notes.append(
            "Interval VWAP unavailable: the log holds no bars for the orders' intervals "
            "(record them with the run's record_bars option)."
        )
    return Section(
        name="best_execution",
        title="Best execution and transaction costs",
        figures=figures,
        tables=(
            *_split(
                "tca.orders",
                ("Orders: prices and slippage", "Orders: implementation shortfall"),
                ORDER_COLUMNS,
                tuple(map(_order_row, costs)),
                PRICE_COLUMNS,
            ),
            *(
                table
                for group, level in _ROLLUPS
                for table in _split(
                    f"tca.by_{group}",
                    (
                        f"By {group.replace('_', ' ')}: slippage",
                        f"By {group.replace('_', ' ')}: costs",
                    ),
                    (group, *ROLLUP_COLUMNS),
                    _rollup_rows(groups, level),
                    ROLLUP_SLIPPAGE_COLUMNS,
                )
            ),
        ),
        charts=(
            Chart(
                "tca.slippage_histogram",
                "Slippage against arrival (bps)",
                ChartKind.HISTOGRAM,
                (_histogram(costs),),
                y_label="orders",
            ),
        ),
        notes=tuple(notes),
    )
