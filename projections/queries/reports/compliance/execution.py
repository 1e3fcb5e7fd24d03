"""Section 4, best execution and transaction cost analysis (formulas: docs/compliance.md).

Per order: the decision price (the close of the bar the signal saw), the arrival price (the
reference price the risk engine checked at submission), the average fill price; slippage in
basis points against each and against the interval VWAP of the recorded bars; the
implementation shortfall split into delay, impact, fees and the opportunity cost of what did
not fill. Every amount is exact; only the basis points and averages are rounded, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from projections.queries.reports.compliance.facts import ZERO, ComplianceFacts, OrderFact
from projections.queries.reports.compliance.format import (
    NOT_AVAILABLE,
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
    """One order's execution, every amount signed so that a cost is positive."""

    order: OrderFact
    decision_price: Decimal
    arrival_price: Decimal
    filled: Decimal
    notional: Decimal
    fees: Decimal
    end_price: Decimal
    time_to_fill_us: int | None

    @property
    def delay(self) -> Decimal:
        return self.order.sign * (self.arrival_price - self.decision_price) * self.filled

    @property
    def impact(self) -> Decimal:
        return self.order.sign * (self.notional - self.arrival_price * self.filled)

    @property
    def opportunity(self) -> Decimal:
        unfilled = self.order.quantity - self.filled
        return self.order.sign * (self.end_price - self.decision_price) * unfilled

    @property
    def shortfall(self) -> Decimal:
        return self.delay + self.impact + self.fees + self.opportunity

    def cost_against(self, benchmark: Fraction) -> Fraction:
        """What the fills cost against ``benchmark`` x the filled quantity."""
        return self.order.sign * (Fraction(self.notional) - benchmark * Fraction(self.filled))

    @property
    def vwap(self) -> Fraction | None:
        if self.order.vwap is None or not self.order.vwap[1]:
            return None
        value3, volume = self.order.vwap
        return Fraction(value3) / (3 * Fraction(volume))


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
        last_fill = order.fills[-1].time_us if order.fills else None
        costs.append(
            OrderCost(
                order,
                decision_price,
                arrival_price,
                order.filled,
                order.notional,
                order.fees,
                order.end_price if order.end_price is not None else decision_price,
                None if last_fill is None else last_fill - order.submitted_us,
            )
        )
    return costs


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


def _weighted(costs: Iterable[OrderCost], benchmark: Callable[[OrderCost], Fraction | None]) -> str:
    """Σ cost against the benchmark / Σ benchmark x filled, in bps, over the filled orders."""
    cost = base = Fraction(0)
    for item in costs:
        level = benchmark(item)
        if item.filled and level is not None:
            cost += item.cost_against(level)
            base += level * Fraction(item.filled)
    return bps(cost, base)


def rollup(costs: list[OrderCost]) -> Rollup:
    filled = [c for c in costs if c.time_to_fill_us is not None]
    return Rollup(
        orders=len(costs),
        ordered=sum((c.order.quantity for c in costs), ZERO),
        filled=sum((c.filled for c in costs), ZERO),
        slippage_decision=_weighted(costs, lambda c: Fraction(c.decision_price)),
        slippage_arrival=_weighted(costs, lambda c: Fraction(c.arrival_price)),
        slippage_vwap=_weighted(costs, lambda c: c.vwap),
        vwap_orders=sum(c.filled > 0 and c.vwap is not None for c in costs),
        delay=sum((c.delay for c in costs), ZERO),
        impact=sum((c.impact for c in costs), ZERO),
        fees=sum((c.fees for c in costs), ZERO),
        opportunity=sum((c.opportunity for c in costs), ZERO),
        shortfall=sum((c.shortfall for c in costs), ZERO),
        time_to_fill=seconds(sum(c.time_to_fill_us or 0 for c in filled), len(filled)),
    )


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
        price(vwap, 1) if vwap is not None else NOT_AVAILABLE,
        bps(cost.cost_against(Fraction(cost.decision_price)), cost.decision_price * filled),
        bps(cost.cost_against(Fraction(cost.arrival_price)), cost.arrival_price * filled),
        bps(cost.cost_against(vwap), vwap * Fraction(filled))
        if vwap is not None and filled
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
ROLLUP_COLUMNS = (
    "orders",
    "quantity",
    "filled",
    "fill_rate",
    "slippage_decision_bps",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "delay_cost",
    "impact_cost",
    "fees",
    "opportunity_cost",
    "shortfall",
    "avg_time_to_fill_s",
)


def _rollup_rows(
    costs: list[OrderCost], key: Callable[[OrderCost], str]
) -> tuple[tuple[str, ...], ...]:
    groups: dict[str, list[OrderCost]] = {}
    for cost in costs:
        groups.setdefault(key(cost), []).append(cost)
    rows = []
    for name in sorted(groups):
        r = rollup(groups[name])
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
                number(r.delay),
                number(r.impact),
                number(r.fees),
                number(r.opportunity),
                number(r.shortfall),
                r.time_to_fill,
            )
        )
    return tuple(rows)


def _histogram(costs: list[OrderCost]) -> Series:
    """Orders by slippage against arrival, in bins of ``HISTOGRAM_BIN_BPS`` basis points."""
    bins: dict[int, int] = {}
    for cost in costs:
        if cost.filled:
            base = Fraction(cost.arrival_price) * Fraction(cost.filled)
            slip = cost.cost_against(Fraction(cost.arrival_price)) * 10_000 / base
            low = (slip // HISTOGRAM_BIN_BPS) * HISTOGRAM_BIN_BPS
            bins[int(low)] = bins.get(int(low), 0) + 1
    ordered = sorted(bins)
    return Series(
        "orders",
        tuple(f"[{low}, {low + HISTOGRAM_BIN_BPS})" for low in ordered),
        tuple(str(bins[low]) for low in ordered),
    )


def execution_section(facts: ComplianceFacts) -> Section:
    costs = order_costs(facts)
    total = rollup(costs)
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
            Table("tca.orders", "Orders", ORDER_COLUMNS, tuple(map(_order_row, costs))),
            Table(
                "tca.by_venue",
                "By venue",
                ("venue", *ROLLUP_COLUMNS),
                _rollup_rows(costs, lambda c: c.order.venue),
            ),
            Table(
                "tca.by_symbol",
                "By symbol",
                ("symbol", *ROLLUP_COLUMNS),
                _rollup_rows(costs, lambda c: c.order.symbol),
            ),
            Table(
                "tca.by_order_type",
                "By order type",
                ("order_type", *ROLLUP_COLUMNS),
                _rollup_rows(costs, lambda c: c.order.order_type),
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
