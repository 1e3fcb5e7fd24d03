"""Crash recovery: rebuild a run's state from the log and continue it without duplicates.

``read_run`` folds the recorded events of one run into its state: stream versions and event
sequence, the book (cash, positions, fees, realized PnL from ``FillRecorded``), open orders
and operator commands. ``resume_engine`` then warms a fresh engine up by replaying bar times
against a throw-away sink (strategies keep indicator state that is not in the log) until the
replay has produced as many events as the log holds, re-applying each operator command (kill
switch, trading state, limits) at the place in the event sequence where it was recorded; it
checks that the replay lands exactly on the recorded events and state and switches the
engine to the real store. Batches are appended whole at bar boundaries, so the log always
ends on one; a retried batch is recognised by its event ids. A run that failed in its
strategy (``RunFailed``) is closed: resuming it is refused (``RunClosedError``); one
interrupted by its machinery (``RunFailed`` resumable) resumes, the failure re-recorded in
place like an operator command.

Valuations are not recorded every bar, so the log does not say how many bar times were
processed after its last event; it does not need to: bar times that record nothing are
simply processed again, which records nothing again (the run is deterministic).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from domain.engine.engine import TradingEngine
from domain.engine.ports import Clock, CollectingSink, EventSink
from domain.events.base import DomainEvent
from domain.events.catalog import (
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderRejected,
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
from domain.portfolio import Book
from infra.eventstore.store import EventStore
from infra.trading.runs import DATA_EXHAUSTED, PreparedRun, build_engine

_TERMINAL = (OrderFilled, OrderCanceled, OrderExpired, OrderRejected)
_COMMANDS = (
    KillSwitchEngaged,
    KillSwitchReleased,
    TradingStateChanged,
    RiskLimitsChanged,
    ReconciliationCompleted,  # recorded by an earlier resume: re-recorded as it was
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


def read_run(store: EventStore, run_id: str) -> RecordedRun | None:
    """Fold every recorded event of ``run_id``; ``None`` if the run was never started."""
    run_events = store.read_stream(run_stream(run_id))
    if not run_events:
        return None
    started = run_events[0].payload
    if not isinstance(started, StrategyRunStarted):
        raise RecoveryError(f"run {run_id} does not begin with StrategyRunStarted")
    events: list[RecordedEvent] = list(run_events)
    versions = {run_stream(run_id): len(run_events)}
    for event in run_events:
        payload = event.payload
        if isinstance(payload, RiskDecisionMade) and payload.approved:
            number = payload.decision_id.rsplit("-d", 1)[1]
            stream = order_stream(f"{run_id}-o{number}")
            order_events = store.read_stream(stream)
            versions[stream] = len(order_events)
            events.extend(order_events)
    events.sort(key=lambda e: int(e.event_id.rsplit(":", 1)[1]))
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
        payload_hashes=[e.payload_hash for e in events],
    )
    for sequence, event in enumerate(events, start=1):
        _fold(recorded, sequence, event)
    if recorded.stopped:
        recorded.stop_from = _stop_block_start(events)
    return recorded


def _stop_block_start(events: list[RecordedEvent]) -> int:
    """Sequence number of the first event of the stop block: the cancels of working orders,
    the final valuation and ``StrategyRunStopped`` (the last event of its stream)."""
    index = max(i for i, e in enumerate(events) if isinstance(e.payload, StrategyRunStopped))
    if index and isinstance(events[index - 1].payload, PortfolioValued):
        index -= 1
    while index and _stop_cancel(events[index - 1].payload):
        index -= 1
    return index + 1


def _stop_cancel(payload: DomainEvent) -> bool:
    if isinstance(payload, OrderCancelRequested):
        return payload.requested_by == "engine" and payload.reason == "run stopped"
    return isinstance(payload, OrderCanceled) and payload.reason == "run stopped"


def _fold(run: RecordedRun, sequence: int, event: RecordedEvent) -> None:
    payload = event.payload
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
    elif isinstance(payload, _TERMINAL):
        run.open_orders.pop(payload.order_id, None)
    elif isinstance(payload, _COMMANDS):
        run.commands.append((sequence, payload))
    elif isinstance(payload, RunFailed):
        if payload.resumable:
            run.commands.append((sequence, payload))  # re-recorded where it was
        else:
            run.failure = payload


def apply_command(engine: TradingEngine, command: DomainEvent) -> None:
    """Re-apply an operator command recorded in the run (same effects, same events)."""
    if isinstance(command, ReconciliationCompleted | RunFailed):
        engine.record_fact(command)
    elif isinstance(command, KillSwitchEngaged):
        engine.engage_kill_switch(operator=command.operator, reason=command.reason)
    elif isinstance(command, KillSwitchReleased):
        engine.release_kill_switch(operator=command.operator, reason=command.reason)
    elif isinstance(command, TradingStateChanged):
        engine.set_trading_state(
            command.new_state, operator=command.operator, reason=command.reason
        )
    elif isinstance(command, RiskLimitsChanged):
        engine.change_limit(
            command.limit, command.new_value, operator=command.operator, reason=command.reason
        )
    else:
        raise RecoveryError(f"cannot re-apply {command.event_type()}")


def resume_engine(
    prepared: PreparedRun,
    store: EventStore,
    sink: EventSink,
    clock: Clock,
    *,
    flush_every: int,
    flush_events: int = 0,
) -> tuple[TradingEngine, RecordedRun | None]:
    """A running engine positioned right after the last recorded bar time of the run."""
    recorded = read_run(store, prepared.spec.run_id)
    if recorded is None:
        engine = build_engine(
            prepared, sink, clock, flush_every=flush_every, flush_events=flush_events
        )
        engine.start(prepared.groups[0][0].time_us)
        return engine, None
    if recorded.failure is not None:
        failure = recorded.failure
        raise RunClosedError(
            f"run {recorded.run_id} failed ({failure.error_type}: {failure.message}) and is "
            "closed; fix the strategy and run again (an edited strategy file is a new run) "
            "or choose another --run-id"
        )
    if recorded.strategy_hash != prepared.spec.strategy_hash:
        raise RecoveryError(
            f"run id {recorded.run_id} was recorded with other strategy code (source sha256 "
            f"{recorded.strategy_hash or 'not recorded'}, now {prepared.spec.strategy_hash}); "
            "an edited strategy is a new run: drop --run-id or choose another one"
        )
    if recorded.config_hash != prepared.spec.config_hash:
        raise RecoveryError(
            f"run id {recorded.run_id} is already recorded with a different configuration "
            "(data, strategy, parameters or costs); choose another --run-id"
        )
    dry = CollectingSink()
    engine = build_engine(prepared, dry, clock, flush_every=flush_every, flush_events=flush_events)
    engine.start(prepared.groups[0][0].time_us)
    journal, groups = engine.journal, prepared.groups
    commands = deque(recorded.commands)
    target = recorded.stop_from - 1 if recorded.stopped else recorded.events
    # A run that stopped because its data ran out processed every bar time, including the
    # last ones that recorded nothing (no fill, off a valuation boundary) but moved the marks
    # its final valuation used: replay them all. Otherwise stop at the first bar time that
    # reaches the log's end (processing the silent ones again records nothing).
    every_bar = recorded.stopped and recorded.stop_reason == DATA_EXHAUSTED
    done = 0
    while True:
        while commands and commands[0][0] == journal.sequence + 1:
            apply_command(engine, commands.popleft()[1])
        if done == len(groups) or journal.sequence > target:
            break
        if journal.sequence == target and not every_bar:
            break
        engine.process(groups[done])
        done += 1
    if journal.sequence != target or commands:
        raise RecoveryError(
            f"cannot resume run {recorded.run_id}: {len(groups)} bar times replay "
            f"{journal.sequence} events, the log holds {target} before its end"
        )
    recorded.groups_done = done
    if recorded.stopped:
        engine.stop(recorded.stop_reason)
    engine.journal.flush()
    verify_replay(engine, recorded)
    replayed = [payload_hash(e.payload.model_dump(mode="json")) for e in dry.events]
    if replayed != recorded.payload_hashes:
        first = next(
            i
            for i, pair in enumerate(zip(replayed, recorded.payload_hashes, strict=True))
            if pair[0] != pair[1]
        )
        raise RecoveryError(
            f"cannot resume run {recorded.run_id}: event {first + 1} of the replay differs "
            "from the log"
        )
    engine.journal.sink = sink
    return engine, recorded


def verify_replay(engine: TradingEngine, recorded: RecordedRun) -> None:
    """Raise ``RecoveryError`` unless the replayed engine matches the log exactly."""
    problems: list[str] = []
    journal = engine.journal
    if journal.sequence != recorded.events:
        problems.append(f"events {journal.sequence} replayed vs {recorded.events} recorded")
    if journal.versions != recorded.versions:
        problems.append("stream versions differ")
    book, logged = engine.book, recorded.book
    for name in ("cash", "fees", "realized"):
        if getattr(book, name) != getattr(logged, name):
            problems.append(f"{name} {getattr(book, name)} replayed vs {getattr(logged, name)}")
    if book.open_positions() != logged.open_positions():
        problems.append(f"positions {book.open_positions()} vs {logged.open_positions()}")
    replay_open = {o.order_id: o.leaves for o in engine.orders.values()}
    if replay_open != recorded.open_orders:
        problems.append(f"open orders {replay_open} vs {recorded.open_orders}")
    valuation, replayed = recorded.last_valuation, engine.last_valuation
    if valuation is not None and (
        replayed is None
        or valuation.equity != replayed.equity
        or valuation.positions != replayed.positions
    ):
        equity = None if replayed is None else replayed.equity
        problems.append(f"last valuation: equity {equity} replayed vs {valuation.equity}")
    if problems:
        raise RecoveryError(f"cannot resume run {recorded.run_id}: " + "; ".join(problems))


def reconciliation(engine: TradingEngine, recorded: RecordedRun) -> ReconciliationCompleted:
    """The fact that a resumed run compared the log's open orders with the venue's."""
    local = set(recorded.open_orders)
    venue = set(engine.venue_open_orders())
    mismatches = [f"{order_id}: open in the log only" for order_id in sorted(local - venue)]
    mismatches += [f"{order_id}: open at the venue only" for order_id in sorted(venue - local)]
    return ReconciliationCompleted(
        venue=engine.venue_name,
        account=engine.spec.account,
        local_open_orders=len(local),
        venue_open_orders=len(venue),
        mismatches=mismatches,
    )
