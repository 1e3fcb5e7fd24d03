"""Turn a batch of recorded events into column-oriented Arrow tables, one per fact table.

A batch is grouped by table in one Python pass; then each table is built at once. The
large tables (fills, orders, signals, decisions, bars) convert their payload dicts to Arrow
struct columns in C++ (``pa.array(dicts, type=struct)``), which costs less than a Python
tuple per row; rare tables (valuations, runs) build row tuples and transpose them. Arrow
casts whole columns (decimal strings to Decimal128(38, 18), times to timestamps). The
stored rows are the same as the per-row extractors' (tests/projections/test_clickhouse_rows.py).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from operator import itemgetter, mul
from typing import Any, TypeAlias

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
# Python values, or an Arrow array already of the column's build type.
Column: TypeAlias = "Sequence[Any] | pa.Array"
ColumnBuilder = Callable[[list[RecordedEvent]], list[Column]]

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


def _by_rows(extract: Extractor) -> ColumnBuilder:
    """A builder for a table whose rows need Python per event: rows, then transposed in C."""

    def build(events: list[RecordedEvent]) -> list[Column]:
        return list(zip(*map(extract, events), strict=True))

    return build


def _struct(table: str, names: Sequence[str]) -> pa.StructType:
    """The payload keys ``names`` of ``table``, typed as its columns are built."""
    build_types = {name: build for name, (build, _) in _SCHEMAS[table]}
    return pa.struct([(name, build_types[name]) for name in names])


def _payload_columns(
    datas: list[dict[str, Any]],
    struct: pa.StructType,
    defaults: dict[str, Any] | None = None,
) -> list[pa.Array]:
    """One Arrow column per field of ``struct``, converted from the payload dicts in C++.

    As the per-event extractors did: a key in ``defaults`` may be missing and gets its
    default; any other missing key raises ``KeyError``. An explicit ``None`` is null, which
    ClickHouse stores as the column's default when it is not Nullable, so filling it with the
    same default stores the same value.
    """
    defaults = defaults or {}
    fields = pa.array(datas, type=struct).flatten()
    for name, field in zip(struct.names, fields, strict=True):
        if field.null_count and name not in defaults:
            _require(datas, name)
    return [
        field if defaults.get(name) is None else field.fill_null(defaults[name])
        for name, field in zip(struct.names, fields, strict=True)
    ]


def _require(datas: Iterable[dict[str, Any]], name: str) -> None:
    """Raise ``KeyError`` if a payload lacks ``name`` (nulls are rare: only then is it looked)."""
    for data in datas:
        data[name]


def _envelope(events: list[RecordedEvent]) -> list[Column]:
    return [[e.position for e in events], [e.event_time_us for e in events]]


_FILL_STRUCT = _struct("fills", [name for name, _ in columns("fills")[2:] if name != "notional"])


def _fills(events: list[RecordedEvent]) -> list[Column]:
    datas = [e.data for e in events]
    payload = _payload_columns(datas, _FILL_STRUCT)
    prices = map(Decimal, map(itemgetter("price"), datas))
    quantities = map(Decimal, map(itemgetter("quantity"), datas))
    notional = list(map(str, map(mul, prices, quantities)))  # 28 significant digits, as before
    # position, event_time, fill_id ... quantity, notional, fee ... venue
    return [*_envelope(events), *payload[:8], notional, *payload[8:]]


_ORDER_DEFAULTS: dict[str, Any] = {
    "account": "", "strategy": "", "symbol": "", "side": "", "order_type": "", "quantity": "0",
    "filled_quantity": "0", "average_price": None, "decision_id": "", "venue": "", "reason": "",
}  # fmt: skip
_ORDER_STRUCT = _struct("order_events", ["order_id", *_ORDER_DEFAULTS])


def _order_events(events: list[RecordedEvent]) -> list[Column]:
    order_id, *rest = _payload_columns([e.data for e in events], _ORDER_STRUCT, _ORDER_DEFAULTS)
    return [*_envelope(events), order_id, [e.event_type for e in events], *rest]


_SIGNAL_STRUCT = _struct("signals", [name for name, _ in columns("signals")[2:]])


def _signals(events: list[RecordedEvent]) -> list[Column]:
    return [*_envelope(events), *_payload_columns([e.data for e in events], _SIGNAL_STRUCT)]


_INTENT = pa.struct(
    [(name, pa.string()) for name in (
        "client_order_id", "account", "strategy", "symbol", "side", "order_type", "quantity",
        "reference_price", "limit_price",
    )]
)  # fmt: skip
_RULE = pa.struct([("rule", pa.string()), ("passed", pa.bool_()), ("value", pa.string()),
                   ("limit", pa.string())])  # fmt: skip
_DECISION_STRUCT = pa.struct(
    [("decision_id", pa.string()), ("signal_id", pa.string()), ("intent", _INTENT),
     ("approved", pa.bool_()), ("rules", pa.list_(_RULE))]
)  # fmt: skip


def _risk_decisions(events: list[RecordedEvent]) -> list[Column]:
    datas = [e.data for e in events]
    decision_id, signal_id, intent, approved, rules = _payload_columns(
        datas, _DECISION_STRUCT, {"signal_id": ""}
    )
    intents = intent.flatten()
    for name, field in zip(_INTENT.names, intents, strict=True):
        if field.null_count and name not in ("reference_price", "limit_price"):
            _require((d["intent"] for d in datas), name)
    outcomes = rules.flatten()  # one struct per rule, all decisions' rules end to end
    per_rule = []
    for name in _RULE.names:
        values = outcomes.field(name)
        if values.null_count:
            _require((rule for d in datas for rule in d["rules"]), name)
        per_rule.append(pa.ListArray.from_arrays(rules.offsets, values))
    return [
        *_envelope(events),
        decision_id,
        signal_id,
        *intents,
        approved.cast(pa.uint8()),
        per_rule[0],
        per_rule[1].cast(pa.list_(pa.uint8())),
        per_rule[2],
        per_rule[3],
    ]


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


_BAR_STRUCT = _struct("bars", [name for name, _ in columns("bars")[2:]])


def _bars(events: list[RecordedEvent]) -> list[Column]:
    return [*_envelope(events), *_payload_columns([e.data for e in events], _BAR_STRUCT)]


_RUN_DEFAULTS: dict[str, Any] = {
    "strategy": "", "account": "", "mode": "", "initial_cash": None, "final_equity": None,
    "reason": "",
}  # fmt: skip
_run_fields = itemgetter(*_RUN_DEFAULTS)


def _run(e: RecordedEvent) -> Row:
    if e.event_class is RunFailed:
        reason = f"{e.data['error_type']}: {e.data['message']}"
        fields = _run_fields(_RUN_DEFAULTS | {"reason": reason})
    else:
        fields = _run_fields(_RUN_DEFAULTS | e.data)
    return (e.position, e.event_time_us, e.event_type, e.data["run_id"], *fields)


# The fact table an event adds a row to, and how a table's events become its columns (every
# class of one table shares one builder, so that a batch builds each table once).
Route = tuple[str, ColumnBuilder]
_RUNS: Route = ("runs", _by_rows(_run))
HANDLED: dict[type[DomainEvent], Route] = {
    FillRecorded: ("fills", _fills),
    SignalGenerated: ("signals", _signals),
    RiskDecisionMade: ("risk_decisions", _risk_decisions),
    PortfolioValued: ("portfolio_values", _by_rows(_portfolio_value)),
    BarClosed: ("bars", _bars),
    StrategyRunStarted: _RUNS,
    StrategyRunStopped: _RUNS,
    RunFailed: _RUNS,
    **dict.fromkeys(STATUS_AFTER, ("order_events", _order_events)),
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
    groups: dict[Route, list[RecordedEvent]] = {}
    routes = ROUTES.table
    for event in batch:
        try:
            route = routes[event.event_class]
        except KeyError:
            raise ROUTES.unrouted_error(event) from None
        if route is None:
            continue
        found = groups.get(route)
        if found is None:
            found = groups[route] = []
        found.append(event)
    for (table, build), events in groups.items():
        yield table, _to_arrow(table, build(events))


def build_tables(batch: Sequence[RecordedEvent]) -> dict[str, pa.Table]:
    """Every fact table of ``batch`` at once (events of ignored classes add no rows)."""
    with paused_gc():
        return dict(iter_tables(batch))


def _to_arrow(table: str, built: list[Column]) -> pa.Table:
    schema = _SCHEMAS[table]
    arrays = []
    for (name, (build_type, cast_type)), values in zip(schema, built, strict=True):
        array = values if isinstance(values, pa.Array) else pa.array(values, type=build_type)
        if cast_type is not None:
            array = _cast(array, cast_type, f"{table}.{name}")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[name for name, _ in schema])


def _cast(array: pa.Array, target: pa.DataType, column: str) -> pa.Array:
    """Cast a column; decimals with more than 18 places are rounded half-even to 18 places."""
    try:
        return array.cast(target)
    except pa.ArrowInvalid as error:
        values = array.to_pylist()
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
