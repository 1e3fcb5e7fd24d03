"""Every figure of the compliance report, recomputed by an independent replay of the log.

A second, deliberately plain computation: one loop over the raw log (``ReportSource.log``:
every event up to the pinned head, nothing from a read model), its own scope filter, flat
dictionaries instead of the sections' order records, the interval VWAP found afterwards from
bar positions instead of windows kept while folding, its own number formatting. It shares
only the definitions (docs/compliance.md) with the section builders, so a bug in one shows up
as a figure the cross-check names.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Any

from domain.orders import STATUS_AFTER_NAME, TERMINAL
from projections.queries.reports.compliance.collector import collector_paused
from projections.queries.reports.compliance.exceptions import ExceptionRules
from projections.queries.reports.source import ReportScope, ReportSource

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_TERMINAL_NAMES = {name for name, status in STATUS_AFTER_NAME.items() if status in TERMINAL}
_CONTROLS = ("RiskLimitsChanged", "KillSwitchEngaged", "KillSwitchReleased", "TradingStateChanged")
_READ = {
    "BarClosed",
    "SignalGenerated",
    "RiskDecisionMade",
    "FillRecorded",
    *STATUS_AFTER_NAME,
    *_CONTROLS,
}


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
    return (_EPOCH + timedelta(microseconds=micros - micros % _DAY_US)).strftime("%Y-%m-%d")


def replay_figures(
    source: ReportSource, scope: ReportScope, rules: ExceptionRules | None = None
) -> dict[str, str]:
    """{figure name: value} for every figure ``build_compliance_report`` writes."""
    with localcontext() as context, collector_paused():
        context.prec, context.rounding = 120, ROUND_HALF_EVEN
        return _replay(source, scope, rules or ExceptionRules())


def _replay(source: ReportSource, scope: ReportScope, rules: ExceptionRules) -> dict[str, str]:
    account_wanted, strategy_wanted = source.scope.account, source.scope.strategy
    start, end = source.scope.start_us, source.scope.end_us
    limits = scope.thresholds

    first = last = counted = 0
    order_owner: dict[str, tuple[str, str]] = {}
    # --- what the loop records -----------------------------------------------------------
    decisions: dict[str, dict[str, Any]] = {}
    signal_price: dict[str, Decimal] = {}
    rejected_intents = 0
    failed_by_rule: Counter[str] = Counter()
    control_counts: Counter[str] = Counter()
    kill_switch_ids: set[str] = set()
    submitted: dict[str, dict[str, Any]] = {}  # order id -> facts at submission
    account_of: dict[str, str] = {}
    symbol_of: dict[str, str] = {}
    filled_so_far: dict[str, Decimal] = defaultdict(Decimal)
    status: dict[str, str] = {}
    ended_at: dict[str, int] = {}  # order id -> log position of its end
    fills: list[dict[str, Any]] = []  # in log order
    messages: list[tuple[int, str, str, bool, bool, Decimal]] = []
    prices: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    bars: dict[str, list[tuple[int, Decimal, Decimal]]] = defaultdict(list)
    breaches = 0
    engaged: set[str] = set()
    halted: set[str] = set()

    for event in source.log():
        moment = event.event_time_us
        if not start <= moment < end:
            if moment < end and event.event_type == "OrderSubmitted":
                order_owner[event.data["order_id"]] = (
                    event.data["account"],
                    event.data["strategy"],
                )
            continue
        first = first or event.position
        last = event.position
        kind, data = event.event_type, event.data
        if kind not in _READ:
            continue
        # --- whose event is it ---------------------------------------------------------
        strategy: str | None = None
        if kind == "OrderSubmitted":
            order_owner[data["order_id"]] = (data["account"], data["strategy"])
        if kind == "RiskDecisionMade":
            account, strategy = data["intent"]["account"], data["intent"]["strategy"]
        elif kind == "SignalGenerated":
            account, strategy = event.actor.account, data["strategy"]
        elif "order_id" in data and data["order_id"] in order_owner:
            account, strategy = order_owner[data["order_id"]]
        else:
            account = data.get("account", event.actor.account)
        if account_wanted is not None and account != account_wanted:
            continue
        if strategy_wanted is not None and strategy is not None and strategy != strategy_wanted:
            continue
        counted += 1
        position = event.position
        # --- what it says ----------------------------------------------------------------
        if kind == "BarClosed":
            close = Decimal(data["close"])
            prices[data["symbol"]].append((position, close))
            bars[data["symbol"]].append(
                (
                    position,
                    (Decimal(data["high"]) + Decimal(data["low"]) + close)
                    * Decimal(data["volume"]),
                    Decimal(data["volume"]),
                )
            )
        elif kind == "SignalGenerated":
            signal_price[data["signal_id"]] = Decimal(data["bar_close"])
            prices[data["symbol"]].append((position, Decimal(data["bar_close"])))
        elif kind == "RiskDecisionMade":
            failed = [rule["rule"] for rule in data["rules"] if not rule["passed"]]
            failed_by_rule.update(failed)
            rejected_intents += not data["approved"]
            reference = data["intent"].get("reference_price")
            decisions[data["decision_id"]] = {
                "approved": data["approved"] and not failed,
                "signal_price": signal_price.get(data.get("signal_id") or ""),
                "reference": None if reference is None else Decimal(reference),
            }
        elif kind in _CONTROLS:
            control_counts[kind] += 1
            if kind == "KillSwitchEngaged":
                kill_switch_ids.add(event.event_id)
                engaged.add(data["account"])
            elif kind == "KillSwitchReleased":
                engaged.discard(data["account"])
            elif kind == "TradingStateChanged":
                if data["new_state"] == "HALTED":
                    halted.add(data["account"])
                else:
                    halted.discard(data["account"])
        elif kind == "FillRecorded":
            order_id = data["order_id"]
            account_of.setdefault(order_id, data["account"])
            symbol_of.setdefault(order_id, data["symbol"])
            filled_so_far[order_id] += Decimal(data["quantity"])
            fills.append(data | {"time": moment, "position": position})
        if kind not in STATUS_AFTER_NAME:
            continue
        order_id = data["order_id"]
        status[order_id] = STATUS_AFTER_NAME[kind].value
        if kind in _TERMINAL_NAMES:
            ended_at[order_id] = position
        if kind == "OrderSubmitted":
            decision = decisions.get(data["decision_id"])
            submitted[order_id] = {
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
            account_of[order_id] = data["account"]
            symbol_of[order_id] = data["symbol"]
            messages.append(
                (moment, data["symbol"], order_id, False, False, Decimal(data["quantity"]))
            )
            if (
                data["account"] in engaged
                or data["account"] in halted
                or (decision is not None and not decision["approved"])
            ):
                breaches += 1
        elif kind == "OrderCancelRequested":
            by_kill_switch = event.causation_id in kill_switch_ids or data["reason"].startswith(
                "kill switch:"
            )
            ordered = submitted[order_id]["quantity"] if order_id in submitted else None
            leaves = Decimal(0) if ordered is None else ordered - filled_so_far[order_id]
            messages.append(
                (moment, symbol_of.get(order_id, ""), order_id, True, by_kill_switch, leaves)
            )

    figures: dict[str, str] = {}
    # --- 1. audit trail ------------------------------------------------------------------
    final = Counter(status[o] for o in status)
    figures["audit.orders"] = str(len(submitted))
    figures["audit.decisions"] = str(len(decisions))
    figures["audit.decisions_rejected"] = str(rejected_intents)
    figures["audit.fills"] = str(len(fills))
    for name in ("CANCELED", "EXPIRED", "FILLED", "REJECTED"):
        figures[f"audit.orders_{name.lower()}"] = str(final[name])
    figures["audit.orders_open"] = str(
        sum(status[o] not in {s.value for s in TERMINAL} for o in submitted)
    )
    # --- 2. pre-trade controls -----------------------------------------------------------
    figures["controls.rejected_intents"] = str(rejected_intents)
    for rule in failed_by_rule:
        figures[f"controls.rejections.{rule}"] = str(failed_by_rule[rule])
    figures["controls.limit_changes"] = str(control_counts["RiskLimitsChanged"])
    figures["controls.kill_switch_engaged"] = str(control_counts["KillSwitchEngaged"])
    figures["controls.kill_switch_released"] = str(control_counts["KillSwitchReleased"])
    figures["controls.trading_state_changes"] = str(control_counts["TradingStateChanged"])
    # --- 3. order flow -------------------------------------------------------------------
    figures.update(_flow(messages, fills, submitted, limits))
    # --- 4. best execution ---------------------------------------------------------------
    figures.update(_execution(submitted, fills, ended_at, prices, bars))
    # --- 5. exceptions -------------------------------------------------------------------
    restricted = sum(o["symbol"] in limits.restricted_symbols for o in submitted.values())
    per_second = Counter((account_of.get(m[2], ""), m[0] // 1_000_000) for m in messages)
    bursts = sum(count > rules.burst_messages for count in per_second.values())
    wash = position_alerts = 0
    latest: dict[tuple[str, str, str], int] = {}
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for fill in fills:
        account, symbol, side = fill["account"], fill["symbol"], fill["side"]
        other = latest.get((account, symbol, "BUY" if side == "SELL" else "SELL"))
        if other is not None and fill["time"] - other < rules.wash_window_us:
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
    figures["exceptions.limit_breach"] = str(breaches)
    figures["exceptions.total"] = str(restricted + bursts + wash + position_alerts + breaches)
    # --- 6. integrity --------------------------------------------------------------------
    figures["integrity.first_position"] = str(first)
    figures["integrity.last_position"] = str(last)
    figures["integrity.events"] = str(counted)
    return figures


def _flow(
    messages: list[tuple[int, str, str, bool, bool, Decimal]],
    fills: list[dict[str, Any]],
    submitted: dict[str, dict[str, Any]],
    limits: Any,
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
