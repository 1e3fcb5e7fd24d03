"""Turn a batch of recorded events into column-oriented Arrow tables, one per fact table.

Per event, Python does one C-level ``itemgetter`` call and one list append (a row tuple);
``zip(*rows)`` transposes in C, and Arrow casts whole columns at once (decimal strings to
Decimal128(38, 18), ISO times and microseconds to timestamps). Python still does one pass
per event: that pass, not ClickHouse, bounds throughput (docs/performance.md).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from operator import itemgetter
from typing import Any

import pyarrow as pa

from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BalanceAdjusted,
    BarClosed,
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OperatorCommandRequested,
    PortfolioValued,
    ReconciliationCompleted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RunFailed,
    RunSnapshotSaved,
    SignalGenerated,
    StrategyRunStarted,
    StrategyRunStopped,
    TradingStateChanged,
    VenueConnectionChanged,
    VenueReportUnmatched,
)
from domain.events.envelope import RecordedEvent, to_microseconds
from domain.orders import STATUS_AFTER
from projections.clickhouse.schema import FACT_TABLES, columns
from projections.dispatch import EventRoutes

Row = tuple[Any, ...]
Extractor = Callable[[RecordedEvent], Row]

_DECIMAL = pa.decimal128(38, 18)
_TIMESTAMP = pa.timestamp("us", tz="UTC")
# Times that arrive as ISO-8601 text inside payloads (the envelope's times are integers).
_ISO_TIME_COLUMNS = frozenset({"bar_time", "open_time"})


def _arrow_type(name: str, kind: str) -> tuple[pa.DataType, pa.DataType | None]:
    """The Arrow type to build a column with, and the type to cast it to (if any)."""
    if kind.startswith("Nullable("):
        kind = kind[len("Nullable(") : -1]
    if kind.startswith("Array("):
        inner, cast = _arrow_type(name, kind[len("Array(") : -1])
        return pa.list_(inner), pa.list_(cast) if cast is not None else None
    if kind.startswith("Decimal"):
        return pa.string(), _DECIMAL
    if kind.startswith("DateTime64"):
        return (pa.string() if name in _ISO_TIME_COLUMNS else pa.int64()), _TIMESTAMP
    if kind == "UInt64":
        return pa.uint64(), None
    if kind == "UInt8":
        return pa.uint8(), None
    return pa.string(), None


_SCHEMAS = {
    table: [(name, _arrow_type(name, kind)) for name, kind in columns(table)]
    for table in FACT_TABLES
}


def _payload_fields(table: str, computed: int = 0) -> Callable[[dict[str, Any]], Row]:
    """A getter for the payload fields of ``table``'s columns after position and event_time.

    ``computed`` trailing columns are derived by the extractor, not read from the payload.
    """
    names = [name for name, _ in columns(table)][2 : len(columns(table)) - computed]
    getter: Callable[[dict[str, Any]], Row] = itemgetter(*names)
    return getter


_fill_fields = itemgetter(
    "fill_id", "order_id", "account", "strategy", "symbol", "side", "price", "quantity"
)
_fill_tail = itemgetter("fee", "fee_currency", "liquidity", "venue")


def _fill(e: RecordedEvent) -> Row:
    d = e.data
    notional = str(Decimal(d["price"]) * Decimal(d["quantity"]))
    return (e.position, e.event_time_us, *_fill_fields(d), notional, *_fill_tail(d))


_ORDER_DEFAULTS: dict[str, Any] = {
    "account": "", "strategy": "", "symbol": "", "side": "", "order_type": "", "quantity": "0",
    "filled_quantity": "0", "average_price": None, "decision_id": "", "venue": "", "reason": "",
}  # fmt: skip
_order_fields = itemgetter(*_ORDER_DEFAULTS)


def _order_event(e: RecordedEvent) -> Row:
    return (
        e.position,
        e.event_time_us,
        e.data["order_id"],
        e.event_type,
        *_order_fields(_ORDER_DEFAULTS | e.data),
    )


_signal_fields = _payload_fields("signals")


def _signal(e: RecordedEvent) -> Row:
    return (e.position, e.event_time_us, *_signal_fields(e.data))


_intent_fields = itemgetter(
    "client_order_id", "account", "strategy", "symbol", "side", "order_type", "quantity"
)


def _risk_decision(e: RecordedEvent) -> Row:
    d = e.data
    intent = d["intent"]
    rules = d["rules"]
    return (
        e.position,
        e.event_time_us,
        d["decision_id"],
        d.get("signal_id") or "",
        *_intent_fields(intent),
        intent.get("reference_price"),
        intent.get("limit_price"),
        1 if d["approved"] else 0,
        [rule["rule"] for rule in rules],
        [1 if rule["passed"] else 0 for rule in rules],
        [rule["value"] for rule in rules],
        [rule["limit"] for rule in rules],
    )


_valuation_fields = _payload_fields("portfolio_values", computed=2)


def _portfolio_value(e: RecordedEvent) -> Row:
    positions = sorted(e.data.get("positions", {}).items())
    return (
        e.position,
        e.event_time_us,
        *_valuation_fields(e.data),
        [symbol for symbol, _ in positions],
        [quantity for _, quantity in positions],
    )


_bar_fields = _payload_fields("bars")


def _bar(e: RecordedEvent) -> Row:
    return (e.position, e.event_time_us, *_bar_fields(e.data))


_RUN_DEFAULTS: dict[str, Any] = {
    "strategy": "", "account": "", "mode": "", "initial_cash": None, "final_equity": None,
    "reason": "",
}  # fmt: skip
_run_fields = itemgetter(*_RUN_DEFAULTS)


def _run(e: RecordedEvent) -> Row:
    return (
        e.position,
        e.event_time_us,
        e.event_type,
        e.data["run_id"],
        *_run_fields(_RUN_DEFAULTS | e.data),
    )


def _run_failed(e: RecordedEvent) -> Row:
    data = e.data
    reason = f"{data['error_type']}: {data['message']}"
    return (
        e.position,
        e.event_time_us,
        e.event_type,
        data["run_id"],
        *_run_fields(_RUN_DEFAULTS | {"reason": reason}),
    )


Route = tuple[str, Extractor]  # the fact table an event adds a row to, and how
HANDLED: dict[type[DomainEvent], Route] = {
    FillRecorded: ("fills", _fill),
    SignalGenerated: ("signals", _signal),
    RiskDecisionMade: ("risk_decisions", _risk_decision),
    PortfolioValued: ("portfolio_values", _portfolio_value),
    BarClosed: ("bars", _bar),
    StrategyRunStarted: ("runs", _run),
    StrategyRunStopped: ("runs", _run),
    RunFailed: ("runs", _run_failed),
    **dict.fromkeys(STATUS_AFTER, ("order_events", _order_event)),
}
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {
        VenueReportUnmatched,  # an order no run tracks: moves nothing; reconciliation reads the log
        OperatorCommandRequested,  # a request: its outcome event carries the effect
        OperatorCommandApplied,  # bookkeeping for recovery; the outcome carries the effect
        OperatorCommandRejected,  # nothing changed; `lh ctl status` reads requests from the log
        AccountFunded,  # cash is current state (SQL read model), not an analytics fact
        BalanceAdjusted,  # idem
        RiskLimitsChanged,  # operator controls: audited in SQL and the log, no analytics cut
        TradingStateChanged,  # idem
        KillSwitchEngaged,  # idem
        KillSwitchReleased,  # idem
        VenueConnectionChanged,  # link status: no fact table keeps it
        ReconciliationCompleted,  # a report of a comparison; no fact table keeps it
        RunSnapshotSaved,  # recovery's bookkeeping (a live session saved its state)
    }
)
ROUTES = EventRoutes("clickhouse", HANDLED, IGNORED)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a batch.

    Building creates many short tuples but no cycles; with a large batch alive, every
    collection rescans all of it (measured: it halved throughput).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def iter_tables(batch: Sequence[RecordedEvent]) -> Iterator[tuple[str, pa.Table]]:
    """Arrow tables for the facts in ``batch``, each converted only when asked for."""
    rows: dict[str, list[Row]] = {}
    routes = ROUTES.table
    for event in batch:
        try:
            route = routes[event.event_class]
        except KeyError:
            raise ROUTES.unrouted_error(event) from None
        if route is None:
            continue
        table, extract = route
        found = rows.get(table)
        if found is None:
            found = rows[table] = []
        found.append(extract(event))
    for table, table_rows in rows.items():
        yield table, _to_arrow(table, table_rows)


def build_tables(batch: Sequence[RecordedEvent]) -> dict[str, pa.Table]:
    """Every fact table of ``batch`` at once (events of ignored classes add no rows)."""
    with paused_gc():
        return dict(iter_tables(batch))


def _to_arrow(table: str, rows: list[Row]) -> pa.Table:
    schema = _SCHEMAS[table]
    arrays = []
    for (name, (build_type, cast_type)), values in zip(
        schema, zip(*rows, strict=True), strict=True
    ):
        array = pa.array(values, type=build_type)
        if cast_type is not None:
            array = _cast(array, values, cast_type, f"{table}.{name}")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[name for name, _ in schema])


def _cast(array: pa.Array, values: Sequence[Any], target: pa.DataType, column: str) -> pa.Array:
    """Cast a column; decimals with more than 18 places are rounded half-even to 18 places."""
    try:
        return array.cast(target)
    except pa.ArrowInvalid as error:
        if target == _TIMESTAMP:
            return pa.array([_iso_to_us(value) for value in values], pa.int64()).cast(target)
        if target != _DECIMAL:
            raise ValueError(f"{column}: {error}") from None
    try:
        rounded = [None if value is None else _round18(value) for value in values]
        return pa.array(rounded, type=_DECIMAL)
    except (ArithmeticError, pa.ArrowInvalid) as error:
        raise ValueError(f"{column}: a value does not fit Decimal(38, 18): {error}") from None


_PLACES = Decimal(1).scaleb(-18)


def _round18(value: str) -> Decimal:
    return Decimal(value).quantize(_PLACES, rounding=ROUND_HALF_EVEN)


def _iso_to_us(text: str) -> int:
    return to_microseconds(datetime.fromisoformat(text.replace("Z", "+00:00")))
