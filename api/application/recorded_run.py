"""A run as the log tells it: ``read_run`` folds one run's recorded events into its state
(stream versions, event sequence, the book, open orders, operator commands, how it ended,
which operator requests it applied).

Recovery (``api.application.recovery``) replays the run against this; ``lh optimize`` reads it to
know which grid points are already recorded. It reads facts, never takes ids apart: approved
decisions name their order (``RiskDecisionMade.order_id``), cancels say why they were
requested (``OrderCancelRequested.origin``), the order status table (``domain.orders``) says
which events close an order; event ids only give the run's order (``domain.ids``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.events.base import DomainEvent
from domain.events.catalog import (
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OrderCancelRequested,
    OrderSubmitted,
    PortfolioValued,
    ReconciliationCompleted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RunFailed,
    StrategyRunStarted,
    StrategyRunStopped,
    TradingStateChanged,
)
from domain.events.codec import payload_hash
from domain.events.envelope import RecordedEvent
from domain.events.streams import order_stream, run_stream
from domain.events.types import ActorKind, CancelOrigin
from domain.ids import event_sequence
from domain.orders import TERMINAL_EVENTS
from domain.portfolio import Book
from infra.eventstore.store import EventStore

_COMMANDS = (
    KillSwitchEngaged,
    KillSwitchReleased,
    TradingStateChanged,
    RiskLimitsChanged,
    ReconciliationCompleted,  # recorded by an earlier resume: re-recorded as it was
    OperatorCommandApplied,
    OperatorCommandRejected,
)


class RecoveryError(RuntimeError):
    """The log and a deterministic replay of the same run disagree; refusing to continue."""


class RunClosedError(RecoveryError):
    """The run failed in its strategy and is closed: running it again would fail again."""


@dataclass
class RecordedRun:
    """A run's state as the log tells it.

    ``groups_done`` (bar times completed) is only known once ``resume_engine`` has replayed
    the run; ``commands`` are (event sequence number, command); ``stop_from`` is the
    sequence number of the first event ``TradingEngine.stop`` recorded (0 if not stopped).
    """

    run_id: str
    events: int
    versions: dict[str, int]
    groups_done: int
    stopped: bool
    book: Book
    config_hash: str = ""
    strategy_hash: str = ""
    payload_hashes: list[str] = field(default_factory=list)
    open_orders: dict[str, Decimal] = field(default_factory=dict)
    orders_submitted: int = 0
    valuations: int = 0
    last_valuation: PortfolioValued | None = None
    commands: list[tuple[int, DomainEvent]] = field(default_factory=list)
    stop_reason: str = ""
    stop_from: int = 0
    failure: RunFailed | None = None
    causes: set[str] = field(default_factory=set)
    """The event ids of the operator requests the run applied (the causes of its outcomes)."""
    places: dict[int, int] = field(default_factory=dict)
    """Sequence number of an operator request's first outcome -> the market time it was
    applied at (``OperatorCommandApplied``/``Rejected``): where recovery re-applies it."""
    first_caused: dict[str, int] = field(default_factory=dict, repr=False)


def read_run(store: EventStore, run_id: str) -> RecordedRun | None:
    """Fold every recorded event of ``run_id``; ``None`` if the run was never started."""
    read = run_events(store, run_id)
    return None if read is None else fold_run(run_id, *read)


def fold_run(run_id: str, events: list[RecordedEvent], versions: dict[str, int]) -> RecordedRun:
    """Fold ``run_events``' answer into the run's state."""
    started = events[0].payload
    if not isinstance(started, StrategyRunStarted):
        raise RecoveryError(f"run {run_id} does not begin with StrategyRunStarted")
    book = Book(started.strategy, started.initial_cash)
    recorded = RecordedRun(
        run_id,
        len(events),
        versions,
        0,
        False,
        book,
        config_hash=started.config_hash,
        strategy_hash=started.strategy_hash,
        payload_hashes=[_current_hash(e) for e in events],
    )
    for sequence, event in enumerate(events, start=1):
        _fold(recorded, sequence, event)
    if recorded.stopped:
        recorded.stop_from = _stop_block_start(events)
    return recorded


def fold_after(start: RecordedRun, events: list[RecordedEvent]) -> RecordedRun:
    """Fold the events that follow ``start`` (a run's state after ``start.events`` events,
    from a snapshot) into it: the state the log tells after them."""
    base = start.events
    start.payload_hashes = [_current_hash(e) for e in events]
    for sequence, event in enumerate(events, start=base + 1):
        _fold(start, sequence, event)
        start.versions[event.stream_id] = event.stream_version
    start.events = base + len(events)
    if start.stopped:
        start.stop_from = base + _stop_block_start(events)
    return start


def run_events(store: EventStore, run_id: str) -> tuple[list[RecordedEvent], dict[str, int]] | None:
    """Every event of ``run_id`` (its run stream and its orders' streams) in the order the run
    recorded them, and each stream's version; ``None`` if the run was never started."""
    recorded = store.read_stream(run_stream(run_id))
    if not recorded:
        return None
    events: list[RecordedEvent] = list(recorded)
    versions = {run_stream(run_id): len(recorded)}
    for event in recorded:
        payload = event.payload
        if isinstance(payload, RiskDecisionMade) and payload.order_id is not None:
            stream = order_stream(payload.order_id)
            order_events = store.read_stream(stream)
            versions[stream] = len(order_events)
            events.extend(order_events)
    events.sort(key=lambda e: event_sequence(e.event_id))
    return events, versions


def _current_hash(event: RecordedEvent) -> str:
    """The payload hash as this build would write the event: the stored hash, or for an event
    stored in an older schema version, the hash of its upcast form (what a replay produces),
    so runs recorded before a schema change still resume."""
    if event.stored_schema_version == event.payload.schema_version:
        return event.payload_hash
    return payload_hash(event.payload.model_dump(mode="json"))


def _stop_block_start(events: list[RecordedEvent]) -> int:
    """Sequence number of the first event of the stop block: the cancels of working orders
    (requests of origin ``RUN_STOPPED`` and what the venue answered to them), the final
    valuation and ``StrategyRunStopped`` (the last event of its stream)."""
    index = max(i for i, e in enumerate(events) if isinstance(e.payload, StrategyRunStopped))
    if index and isinstance(events[index - 1].payload, PortfolioValued):
        index -= 1
    stop_requests = {
        e.event_id
        for e in events
        if isinstance(e.payload, OrderCancelRequested)
        and e.payload.origin is CancelOrigin.RUN_STOPPED
    }
    while index and (
        events[index - 1].event_id in stop_requests
        or events[index - 1].causation_id in stop_requests
    ):
        index -= 1
    return index + 1


def _fold(run: RecordedRun, sequence: int, event: RecordedEvent) -> None:
    payload = event.payload
    request = event.causation_id
    answer = (
        payload if isinstance(payload, OperatorCommandApplied | OperatorCommandRejected) else None
    )
    if request is not None and (answer or event.actor.kind is ActorKind.OPERATOR):
        run.causes.add(request)  # an operator request's outcome
        first = run.first_caused.setdefault(request, sequence)
        if answer is not None:
            run.places[first] = answer.market_time_us
    if isinstance(payload, PortfolioValued):
        run.valuations += 1
        run.last_valuation = payload
    elif isinstance(payload, StrategyRunStopped):
        run.stopped = True
        run.stop_reason = payload.reason
    elif isinstance(payload, OrderSubmitted):
        run.orders_submitted += 1
        run.open_orders[payload.order_id] = payload.quantity
    elif isinstance(payload, FillRecorded):
        run.book.apply_fill(
            payload.symbol,
            payload.side,
            payload.quantity,
            payload.price,
            fee=payload.fee,
            time_us=event.event_time_us,
        )
        if payload.order_id in run.open_orders:
            run.open_orders[payload.order_id] -= payload.quantity
    elif isinstance(payload, TERMINAL_EVENTS):
        run.open_orders.pop(payload.order_id, None)
    elif isinstance(payload, OrderCancelRequested) and payload.origin is CancelOrigin.OPERATOR:
        run.commands.append((sequence, payload))  # an operator's cancel, re-applied in place
    elif isinstance(payload, _COMMANDS):
        run.commands.append((sequence, payload))
    elif isinstance(payload, RunFailed):
        if payload.resumable:
            run.commands.append((sequence, payload))  # re-recorded where it was
        else:
            run.failure = payload
