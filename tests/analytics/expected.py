"""Expected analytics results computed in plain Python from the events (no SQL involved)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from domain.events.envelope import RecordedEvent, to_microseconds

ZERO = Decimal(0)
Events = Iterable[RecordedEvent]


def of_type(events: Events, *types: str) -> list[RecordedEvent]:
    return [event for event in events if event.event_type in types]


def pnl_by_day(events: Events) -> dict[tuple[date, str], tuple[Decimal, Decimal, Decimal]]:
    """(day, strategy) -> (pnl, realized pnl, fees) from the last valuation of each day."""
    initial = {e.data["run_id"]: Decimal(e.data["initial_cash"])
               for e in of_type(events, "StrategyRunStarted")}  # fmt: skip
    last: dict[tuple[str, str, date], RecordedEvent] = {}
    for event in of_type(events, "PortfolioValued"):
        last[(event.data["run_id"], event.data["strategy"], event.event_time.date())] = event
    previous: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    result: dict[tuple[date, str], tuple[Decimal, Decimal, Decimal]] = defaultdict(
        lambda: (ZERO, ZERO, ZERO)
    )
    for (run_id, strategy, day), event in sorted(last.items(), key=lambda item: item[0][2]):
        equity, realized, fees = (
            as_stored(event.data[k]) for k in ("equity", "realized_pnl", "fees")
        )
        before = previous.get(run_id, (initial[run_id], ZERO, ZERO))
        total = result[(day, strategy)]
        result[(day, strategy)] = (
            total[0] + equity - before[0],
            total[1] + realized - before[1],
            total[2] + fees - before[2],
        )
        previous[run_id] = (equity, realized, fees)
    return dict(result)


def submitted_orders(events: Events) -> dict[str, RecordedEvent]:
    return {e.data["order_id"]: e for e in of_type(events, "OrderSubmitted")}


def fill_rate(events: Events) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(strategy, symbol) -> (submitted quantity, filled quantity) from FillRecorded."""
    events = list(events)
    orders = submitted_orders(events)
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for order in orders.values():
        totals[(order.data["strategy"], order.data["symbol"])][0] += Decimal(order.data["quantity"])
    for fill in of_type(events, "FillRecorded"):
        order = orders[fill.data["order_id"]]
        totals[(order.data["strategy"], order.data["symbol"])][1] += Decimal(fill.data["quantity"])
    return {key: (value[0], value[1]) for key, value in totals.items()}


def latencies_us(events: Events) -> dict[tuple[str, str], list[int]]:
    """(stage, strategy) -> latencies in microseconds, one per order that reached the stage."""
    events = list(events)
    submitted = submitted_orders(events)
    firsts: dict[str, dict[str, int]] = defaultdict(dict)
    stage_of = {
        "OrderAccepted": "submit_to_accept",
        "OrderPartiallyFilled": "submit_to_first_fill",
        "OrderFilled": "submit_to_first_fill",
    }
    terminal = {"OrderFilled", "OrderCanceled", "OrderRejected", "OrderExpired"}
    for event in events:
        order_id = event.data.get("order_id")
        if order_id not in submitted or not event.event_type.startswith("Order"):
            continue
        stages = [stage_of[event.event_type]] if event.event_type in stage_of else []
        if event.event_type in terminal:
            stages.append("submit_to_final")
        for stage in stages:
            firsts[order_id].setdefault(stage, event.event_time_us)
    result: dict[tuple[str, str], list[int]] = defaultdict(list)
    for order_id, reached in firsts.items():
        order = submitted[order_id]
        for stage, time_us in reached.items():
            result[(stage, order.data["strategy"])].append(time_us - order.event_time_us)
    return dict(result)


def slippage_bps(events: Events) -> dict[tuple[str, str], list[Decimal]]:
    """(strategy, symbol) -> exact signed slippage of every fill vs its decision's price."""
    events = list(events)
    orders = submitted_orders(events)
    decisions = {e.data["decision_id"]: e for e in of_type(events, "RiskDecisionMade")}
    result: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for fill in of_type(events, "FillRecorded"):
        decision = decisions[orders[fill.data["order_id"]].data["decision_id"]]
        reference = Decimal(decision.data["intent"]["reference_price"])
        sign = 1 if fill.data["side"] == "BUY" else -1
        bps = sign * (Decimal(fill.data["price"]) - reference) / reference * 10_000
        result[(fill.data["strategy"], fill.data["symbol"])].append(bps)
    return dict(result)


Candle = tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]


def as_stored(text: str) -> Decimal:
    """Decimal(38, 18) keeps 18 places: more are rounded half-even (documented in rows.py)."""
    return Decimal(text).quantize(Decimal(1).scaleb(-18), rounding=ROUND_HALF_EVEN)


def ohlcv(events: Events, symbol: str, step_us: int) -> list[Candle]:
    buckets: dict[int, list[RecordedEvent]] = defaultdict(list)
    for bar in of_type(events, "BarClosed"):
        if bar.data["symbol"] == symbol:
            micros = to_microseconds(datetime.fromisoformat(bar.data["open_time"]))
            buckets[micros - micros % step_us].append(bar)
    rows = []
    for bucket, bars in sorted(buckets.items()):
        bars.sort(key=lambda bar: bar.data["open_time"])
        rows.append((
            bucket,
            Decimal(bars[0].data["open"]),
            max(Decimal(bar.data["high"]) for bar in bars),
            min(Decimal(bar.data["low"]) for bar in bars),
            Decimal(bars[-1].data["close"]),
            sum((Decimal(bar.data["volume"]) for bar in bars), ZERO),
        ))  # fmt: skip
    return rows


def exposure(events: Events, symbol: str, step_us: int) -> list[tuple[int, Decimal, Decimal]]:
    """(bucket start, position at bucket end, position * last close) for buckets with bars."""
    events = list(events)
    closes = {bucket: close for bucket, _, _, _, close, _ in ohlcv(events, symbol, step_us)}
    fills = [f for f in of_type(events, "FillRecorded") if f.data["symbol"] == symbol]
    rows = []
    for bucket, close in sorted(closes.items()):
        end = bucket + step_us
        position = sum(
            (Decimal(f.data["quantity"]) * (1 if f.data["side"] == "BUY" else -1)
             for f in fills if f.event_time_us < end),
            ZERO,
        )  # fmt: skip
        rows.append((bucket, position, position * close))
    return rows


def microseconds(moment: datetime) -> int:
    """ClickHouse hands back naive UTC datetimes."""
    return to_microseconds(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)
