"""Every figure of the compliance report, recomputed by an independent replay of the log.

A second, deliberately plain computation: a fold over the raw log's events (no read model),
its own scope filter, flat dictionaries instead of the sections' order records, the interval
VWAP found afterwards from bar positions instead of windows kept while folding, its own number
formatting. It shares only the definitions (docs/compliance.md) with the section builders, so a
bug in one shows up as a figure the cross-check names. It may share the read of the log with
them (``ReportSource.fold_once``: the same decoded events, handed to the replay first).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from functools import lru_cache
from typing import Any

from domain.events.envelope import RecordedEvent
from domain.orders import STATUS_AFTER_NAME, TERMINAL
from projections.queries.reports.compliance.collector import collector_paused
from projections.queries.reports.source import Fold, ReportScope, ReportSource, Thresholds

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_TERMINAL_NAMES = {name for name, status in STATUS_AFTER_NAME.items() if status in TERMINAL}
_CONTROLS = ("RiskLimitsChanged", "KillSwitchEngaged", "KillSwitchReleased", "TradingStateChanged")
_READ = frozenset(
    {
        "BarClosed",
        "SignalGenerated",
        "RiskDecisionMade",
        "FillRecorded",
        *STATUS_AFTER_NAME,
        *_CONTROLS,
    }
)
_OWNERS = frozenset({"OrderSubmitted"})
"""Read before the window too: whose each order is."""


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    value = Decimal(value)
    return "0" if value == 0 else format(value.normalize(), "f")


def _quotient(numerator: Any, denominator: Any, places: int) -> str:
    """Half-to-even rounding of the quotient: exact for fractions, from 120 digits for
    decimals (no quotient of such decimals lies that close to a tie)."""
    if denominator == 0:
        return "n/a"
    if isinstance(numerator, Fraction) or isinstance(denominator, Fraction):
        exact = Fraction(numerator) / Fraction(denominator)
        return format(Decimal(round(exact * 10**places)).scaleb(-places), "f")
    step = Decimal(10) ** -places
    return format((Decimal(numerator) / Decimal(denominator)).quantize(step), "f")


def _bps(cost: Any, base: Any) -> str:
    return _quotient(cost * 10_000, base, 2)


def _day(micros: int) -> str:
    return _midnight(micros - micros % _DAY_US)


@lru_cache(maxsize=1024)
def _midnight(micros: int) -> str:
    """The date of a UTC midnight (a month of messages falls on a few dozen of them)."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%d")


def replay_figures(source: ReportSource, scope: ReportScope) -> dict[str, str]:
    """{figure name: value} for every figure ``build_compliance_report`` writes, from a read
    of the log of its own."""
    replay = Replay(source.scope, scope.thresholds)
    with localcontext() as context, collector_paused():
        context.prec, context.rounding = 120, ROUND_HALF_EVEN
        source.fold_once([replay.fold()])
    return replay.figures()


@dataclass
class _Log:
    """What the fold records."""

    first: int = 0
    last: int = 0
    counted: int = 0
    order_owner: dict[str, tuple[str, str]] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal_price: dict[str, Decimal] = field(default_factory=dict)
    rejected_intents: int = 0
    failed_by_rule: Counter[str] = field(default_factory=Counter)
    control_counts: Counter[str] = field(default_factory=Counter)
    kill_switch_ids: set[str] = field(default_factory=set)
    submitted: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Order id -> facts at submission."""
    account_of: dict[str, str] = field(default_factory=dict)
    symbol_of: dict[str, str] = field(default_factory=dict)
    filled_so_far: defaultdict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    status: dict[str, str] = field(default_factory=dict)
    ended_at: dict[str, int] = field(default_factory=dict)
    """Order id -> log position of its end."""
    fills: list[dict[str, Any]] = field(default_factory=list)
    """In log order."""
    messages: list[tuple[int, str, str, bool, bool, Decimal]] = field(default_factory=list)
    prices: defaultdict[str, list[tuple[int, Decimal]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    bars: defaultdict[str, list[tuple[int, Decimal, Decimal]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    breaches: int = 0
    engaged: set[str] = field(default_factory=set)
    halted: set[str] = field(default_factory=set)


class Replay:
    """The replay as a fold: ``fold()`` is what a pass over the log feeds (with Decimal
    arithmetic exact to 120 digits), ``figures()`` what it gives once the pass is done."""

    def __init__(self, scope: ReportScope, limits: Thresholds) -> None:
        self._scope = scope
        self._start, self._end = scope.start_us, scope.end_us
        self._limits = limits
        self._log = _Log()

    def fold(self) -> Fold:
        return Fold(self._see, _READ, _OWNERS, self._position)

    def _position(self, position: int, moment: int) -> None:
        """Every event of the log: the first and last position in the window."""
        if self._start <= moment < self._end:
            log = self._log
            log.first = log.first or position
            log.last = position

    def _see(self, event: RecordedEvent) -> None:
        s, moment = self._log, event.event_time_us
        kind, data = event.event_type, event.data
        if not self._start <= moment < self._end:
            if moment < self._end and kind == "OrderSubmitted":
                s.order_owner[data["order_id"]] = (data["account"], data["strategy"])
            return
        if kind not in _READ:
            return
        # --- whose event is it ---------------------------------------------------------
        strategy: str | None = None
        if kind == "OrderSubmitted":
            s.order_owner[data["order_id"]] = (data["account"], data["strategy"])
        if kind == "RiskDecisionMade":
            account, strategy = data["intent"]["account"], data["intent"]["strategy"]
        elif kind == "SignalGenerated":
            account, strategy = event.actor.account, data["strategy"]
        elif "order_id" in data and data["order_id"] in s.order_owner:
            account, strategy = s.order_owner[data["order_id"]]
        else:
            account = data.get("account", event.actor.account)
        account_wanted, strategy_wanted = self._scope.account, self._scope.strategy
        if account_wanted is not None and account != account_wanted:
            return
        if strategy_wanted is not None and strategy is not None and strategy != strategy_wanted:
            return
        s.counted += 1
        position = event.position
        # --- what it says ----------------------------------------------------------------
        if kind == "BarClosed":
            close = Decimal(data["close"])
            s.prices[data["symbol"]].append((position, close))
            s.bars[data["symbol"]].append(
                (
                    position,
                    (Decimal(data["high"]) + Decimal(data["low"]) + close)
                    * Decimal(data["volume"]),
                    Decimal(data["volume"]),
                )
            )
        elif kind == "SignalGenerated":
            s.signal_price[data["signal_id"]] = Decimal(data["bar_close"])
            s.prices[data["symbol"]].append((position, Decimal(data["bar_close"])))
        elif kind == "RiskDecisionMade":
            failed = [rule["rule"] for rule in data["rules"] if not rule["passed"]]
            s.failed_by_rule.update(failed)
            s.rejected_intents += not data["approved"]
            reference = data["intent"].get("reference_price")
            s.decisions[data["decision_id"]] = {
                "approved": data["approved"] and not failed,
                "signal_price": s.signal_price.get(data.get("signal_id") or ""),
                "reference": None if reference is None else Decimal(reference),
            }
        elif kind in _CONTROLS:
            s.control_counts[kind] += 1
            if kind == "KillSwitchEngaged":
                s.kill_switch_ids.add(event.event_id)
                s.engaged.add(data["account"])
            elif kind == "KillSwitchReleased":
                s.engaged.discard(data["account"])
            elif kind == "TradingStateChanged":
                if data["new_state"] == "HALTED":
                    s.halted.add(data["account"])
                else:
                    s.halted.discard(data["account"])
        elif kind == "FillRecorded":
            order_id = data["order_id"]
            s.account_of.setdefault(order_id, data["account"])
            s.symbol_of.setdefault(order_id, data["symbol"])
            s.filled_so_far[order_id] += Decimal(data["quantity"])
            s.fills.append(data | {"time": moment, "position": position})
        if kind not in STATUS_AFTER_NAME:
            return
        order_id = data["order_id"]
        s.status[order_id] = STATUS_AFTER_NAME[kind].value
        if kind in _TERMINAL_NAMES:
            s.ended_at[order_id] = position
        if kind == "OrderSubmitted":
            decision = s.decisions.get(data["decision_id"])
            s.submitted[order_id] = {
                "time": moment,
                "position": position,
                "symbol": data["symbol"],
                "side": data["side"],
                "type": data["order_type"],
                "venue": data["venue"],
                "account": data["account"],
                "quantity": Decimal(data["quantity"]),
                "decision": decision,
            }
            s.account_of[order_id] = data["account"]
            s.symbol_of[order_id] = data["symbol"]
            s.messages.append(
                (moment, data["symbol"], order_id, False, False, Decimal(data["quantity"]))
            )
            if (
                data["account"] in s.engaged
                or data["account"] in s.halted
                or (decision is not None and not decision["approved"])
            ):
                s.breaches += 1
        elif kind == "OrderCancelRequested":
            by_kill_switch = event.causation_id in s.kill_switch_ids or data["reason"].startswith(
                "kill switch:"
            )
            ordered = s.submitted[order_id]["quantity"] if order_id in s.submitted else None
            leaves = Decimal(0) if ordered is None else ordered - s.filled_so_far[order_id]
            s.messages.append(
                (moment, s.symbol_of.get(order_id, ""), order_id, True, by_kill_switch, leaves)
            )

    def figures(self) -> dict[str, str]:
        """{figure name: value} of what the fold was fed."""
        with localcontext() as context, collector_paused():
            context.prec, context.rounding = 120, ROUND_HALF_EVEN
            return _figures(self._log, self._limits)


def _figures(s: _Log, limits: Thresholds) -> dict[str, str]:
    status, submitted, fills, messages = s.status, s.submitted, s.fills, s.messages
    figures: dict[str, str] = {}
    # --- 1. audit trail ------------------------------------------------------------------
    final = Counter(status[o] for o in status)
    figures["audit.orders"] = str(len(submitted))
    figures["audit.decisions"] = str(len(s.decisions))
    figures["audit.decisions_rejected"] = str(s.rejected_intents)
    figures["audit.fills"] = str(len(fills))
    for name in ("CANCELED", "EXPIRED", "FILLED", "REJECTED"):
        figures[f"audit.orders_{name.lower()}"] = str(final[name])
    terminal = {state.value for state in TERMINAL}
    figures["audit.orders_open"] = str(sum(status[o] not in terminal for o in submitted))
    # --- 2. pre-trade controls -----------------------------------------------------------
    figures["controls.rejected_intents"] = str(s.rejected_intents)
    for rule in s.failed_by_rule:
        figures[f"controls.rejections.{rule}"] = str(s.failed_by_rule[rule])
    figures["controls.limit_changes"] = str(s.control_counts["RiskLimitsChanged"])
    figures["controls.kill_switch_engaged"] = str(s.control_counts["KillSwitchEngaged"])
    figures["controls.kill_switch_released"] = str(s.control_counts["KillSwitchReleased"])
    figures["controls.trading_state_changes"] = str(s.control_counts["TradingStateChanged"])
    # --- 3. order flow -------------------------------------------------------------------
    figures.update(_flow(messages, fills, submitted, limits))
    # --- 4. best execution ---------------------------------------------------------------
    figures.update(_execution(submitted, fills, s.ended_at, s.prices, s.bars))
    # --- 5. exceptions -------------------------------------------------------------------
    restricted = sum(o["symbol"] in limits.restricted_symbols for o in submitted.values())
    per_second = Counter((s.account_of.get(m[2], ""), m[0] // 1_000_000) for m in messages)
    bursts = sum(count > limits.burst_messages for count in per_second.values())
    wash = position_alerts = 0
    latest: dict[tuple[str, str, str], int] = {}
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in fills:
        account, symbol, side = fill["account"], fill["symbol"], fill["side"]
        other = latest.get((account, symbol, "BUY" if side == "SELL" else "SELL"))
        if other is not None and fill["time"] - other < limits.wash_window_us:
            wash += 1
        latest[(account, symbol, side)] = fill["time"]
        signed = Decimal(fill["quantity"]) * (1 if side == "BUY" else -1)
        before = net[(account, symbol)]
        net[(account, symbol)] = before + signed
        bound = limits.max_position
        if bound is not None and abs(before) <= bound < abs(before + signed):
            position_alerts += 1
    figures["exceptions.restricted_symbol"] = str(restricted)
    figures["exceptions.burst"] = str(bursts)
    figures["exceptions.wash_like"] = str(wash)
    figures["exceptions.position_threshold"] = str(position_alerts)
    figures["exceptions.limit_breach"] = str(s.breaches)
    figures["exceptions.total"] = str(restricted + bursts + wash + position_alerts + s.breaches)
    # --- 6. integrity --------------------------------------------------------------------
    figures["integrity.first_position"] = str(s.first)
    figures["integrity.last_position"] = str(s.last)
    figures["integrity.events"] = str(s.counted)
    return figures


def _flow(
    messages: list[tuple[int, str, str, bool, bool, Decimal]],
    fills: list[dict[str, Any]],
    submitted: dict[str, dict[str, Any]],
    limits: Thresholds,
) -> dict[str, str]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(day: str, symbol: str) -> dict[str, Any]:
        return rows.setdefault(
            (day, symbol),
            {
                "orders": 0,
                "cancels": 0,
                "ks": 0,
                "trades": 0,
                "ordered": Decimal(0),
                "canceled": Decimal(0),
                "traded": Decimal(0),
                "instant": 0,
                "seconds": Counter(),
            },
        )

    for time_us, symbol, order_id, cancel, by_kill_switch, quantity in messages:
        for target in (row(_day(time_us), symbol), row(_day(time_us), "*")):
            target["seconds"][time_us // 1_000_000] += 1
            if not cancel:
                target["orders"] += 1
                target["ordered"] += quantity
            elif by_kill_switch:
                target["ks"] += 1
            else:
                target["cancels"] += 1
                target["canceled"] += quantity
                sent = submitted.get(order_id)
                if sent is not None and time_us - sent["time"] < limits.instant_cancel_us:
                    target["instant"] += 1
    for fill in fills:
        for target in (row(_day(fill["time"]), fill["symbol"]), row(_day(fill["time"]), "*")):
            target["trades"] += 1
            target["traded"] += Decimal(fill["quantity"])

    flagged = 0
    for r in rows.values():
        messages_today = r["orders"] + r["cancels"] + r["ks"]
        peak = max(r["seconds"].values(), default=0)
        over = (
            peak > limits.orders_per_second
            or messages_today > limits.messages_per_day
            or (
                r["trades"] > 0
                and Fraction(r["orders"] + r["cancels"]) / r["trades"]
                > Fraction(limits.order_to_trade_ratio)
            )
            or (
                r["traded"] != 0
                and Fraction(r["ordered"] + r["canceled"]) / Fraction(r["traded"])
                > Fraction(limits.order_to_trade_ratio)
            )
            or (
                r["orders"] > 0
                and Fraction(r["cancels"], r["orders"]) > Fraction(limits.cancel_ratio)
            )
        )
        flagged += over
    whole = [r for (_, symbol), r in rows.items() if symbol == "*"]
    orders = sum(r["orders"] for r in whole)
    cancels = sum(r["cancels"] for r in whole)
    ks = sum(r["ks"] for r in whole)
    trades = sum(r["trades"] for r in whole)
    ordered = sum((r["ordered"] for r in whole), Decimal(0))
    canceled = sum((r["canceled"] for r in whole), Decimal(0))
    traded = sum((r["traded"] for r in whole), Decimal(0))
    all_seconds = Counter(time_us // 1_000_000 for time_us, *_ in messages)
    return {
        "flow.orders": str(orders),
        "flow.cancels": str(cancels),
        "flow.kill_switch_cancels": str(ks),
        "flow.messages": str(len(messages)),
        "flow.trades": str(trades),
        "flow.order_to_trade_number": _quotient(orders + cancels, trades, 4),
        "flow.order_to_trade_volume": _quotient(ordered + canceled, traded, 4),
        "flow.cancel_ratio": _quotient(cancels, orders, 4),
        "flow.peak_messages_per_second": str(max(all_seconds.values(), default=0)),
        "flow.max_daily_messages": str(
            max((r["orders"] + r["cancels"] + r["ks"] for r in whole), default=0)
        ),
        "flow.instant_cancels": str(sum(r["instant"] for r in whole)),
        "flow.flagged_rows": str(flagged),
    }


def _execution(
    submitted: dict[str, dict[str, Any]],
    fills: list[dict[str, Any]],
    ended_at: dict[str, int],
    prices: dict[str, list[tuple[int, Decimal]]],
    bars: dict[str, list[tuple[int, Decimal, Decimal]]],
) -> dict[str, str]:
    fills_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fill in fills:
        fills_of[fill["order_id"]].append(fill)
    count = 0
    ordered = done = delay = impact = fees = opportunity = Decimal(0)
    costs = {"decision": [Decimal(0), Decimal(0)], "arrival": [Decimal(0), Decimal(0)]}
    # Per symbol: bar positions and running sums of (high + low + close) x volume and volume,
    # so any window's sums are two subtractions.
    index: dict[str, tuple[list[int], list[Decimal], list[Decimal]]] = {}
    for symbol, series in bars.items():
        value_sums, volume_sums = [Decimal(0)], [Decimal(0)]
        for _, value, volume in series:
            value_sums.append(value_sums[-1] + value)
            volume_sums.append(volume_sums[-1] + volume)
        index[symbol] = ([b[0] for b in series], value_sums, volume_sums)
    vwap_cost, vwap_base, vwap_orders = Fraction(0), Fraction(0), 0
    waited, waits = 0, 0
    for order_id, sent in submitted.items():
        decision = sent["decision"]
        if decision is None:
            continue
        decided = decision["signal_price"] or decision["reference"]
        arrival = decision["reference"] or decision["signal_price"]
        if decided is None or arrival is None:
            continue
        count += 1
        sign = 1 if sent["side"] == "BUY" else -1
        mine = fills_of.get(order_id, [])
        quantity = sum((Decimal(f["quantity"]) for f in mine), Decimal(0))
        notional = sum((Decimal(f["price"]) * Decimal(f["quantity"]) for f in mine), Decimal(0))
        ordered += sent["quantity"]
        done += quantity
        fees += sum((Decimal(f["fee"]) for f in mine), Decimal(0))
        delay += sign * (arrival - decided) * quantity
        impact += sign * (notional - arrival * quantity)
        history = prices.get(sent["symbol"], [])
        until = ended_at.get(order_id)
        cut = len(history) if until is None else bisect_right(history, (until, Decimal("Infinity")))
        closing = history[cut - 1][1] if cut else decided
        opportunity += sign * (closing - decided) * (sent["quantity"] - quantity)
        if not mine:
            continue
        waited += mine[-1]["time"] - sent["time"]
        waits += 1
        for name, level in (("decision", decided), ("arrival", arrival)):
            costs[name][0] += sign * (notional - level * quantity)
            costs[name][1] += level * quantity
        if sent["symbol"] not in index:
            continue
        positions, value_sums, volume_sums = index[sent["symbol"]]
        after_last_fill = bisect_right(positions, mine[-1]["position"])
        if after_last_fill == len(positions):
            continue  # no bar after the last fill: the interval is not closed by a bar
        first_bar = bisect_right(positions, sent["position"])
        volume = volume_sums[after_last_fill + 1] - volume_sums[first_bar]
        if volume == 0:
            continue
        value = value_sums[after_last_fill + 1] - value_sums[first_bar]
        level = Fraction(value) / (3 * Fraction(volume))
        vwap_orders += 1
        vwap_cost += sign * (Fraction(notional) - level * Fraction(quantity))
        vwap_base += level * Fraction(quantity)
    shortfall = delay + impact + fees + opportunity
    return {
        "tca.orders": str(count),
        "tca.ordered_quantity": _text(ordered),
        "tca.filled_quantity": _text(done),
        "tca.fill_rate": _quotient(done, ordered, 4),
        "tca.slippage_decision_bps": _bps(*costs["decision"]),
        "tca.slippage_arrival_bps": _bps(*costs["arrival"]),
        "tca.slippage_vwap_bps": _bps(vwap_cost, vwap_base),
        "tca.vwap_orders": str(vwap_orders),
        "tca.shortfall_delay": _text(delay),
        "tca.shortfall_impact": _text(impact),
        "tca.shortfall_fees": _text(fees),
        "tca.shortfall_opportunity": _text(opportunity),
        "tca.shortfall_total": _text(shortfall),
        "tca.avg_time_to_fill_s": _quotient(waited, waits * 1_000_000, 6),
    }
