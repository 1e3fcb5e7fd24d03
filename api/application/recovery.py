"""Crash recovery: rebuild a run's state from the log and continue it without duplicates.

``read_run`` folds the recorded events of one run into its state: stream versions and event
sequence, the book (cash, positions, fees, realized PnL from ``FillRecorded``), open orders
and operator commands. ``resume_engine`` then warms a fresh engine up by replaying bar times
against a throw-away sink (strategies keep indicator state that is not in the log) until the
replay has produced as many events as the log holds, re-applying each operator command (kill
switch, trading state, limits, an operator's order cancel) at the place in the event sequence
where it was recorded; it checks that the replay lands exactly on the recorded events and
state and switches the engine to the real store. Batches are appended whole at bar
boundaries, so the log always ends on one; a retried batch is recognised by its event ids.
A run that failed in its strategy (``RunFailed``) is closed: resuming it is refused
(``RunClosedError``); one interrupted by its machinery (``RunFailed`` resumable) resumes, the
failure re-recorded in place like an operator command.

Valuations are not recorded every bar, so the log does not say how many bar times were
processed after its last event; it does not need to: bar times that record nothing are
simply processed again, which records nothing again (the run is deterministic).
"""

from __future__ import annotations

from collections import deque

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.recorded_run import (
    RecordedRun,
    RecoveryError,
    RunClosedError,
    read_run,
)
from api.application.runs import DATA_EXHAUSTED, PreparedRun, build_engine
from domain.engine.engine import TradingEngine
from domain.engine.ports import Clock, CollectingSink, EventSink
from domain.events.base import DomainEvent
from domain.events.catalog import (
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OrderCancelRequested,
    ReconciliationCompleted,
    RiskLimitsChanged,
    RunFailed,
    TradingStateChanged,
)
from domain.events.codec import payload_hash
from infra.eventstore.store import EventStore


def apply_command(engine: TradingEngine, command: DomainEvent) -> None:
    """Re-apply an operator command recorded in the run (same effects, same events)."""
    if isinstance(
        command,
        ReconciliationCompleted | RunFailed | OperatorCommandApplied | OperatorCommandRejected,
    ):
        engine.record_fact(command)
    elif isinstance(command, KillSwitchEngaged):
        engine.engage_kill_switch(operator=command.operator, reason=command.reason)
    elif isinstance(command, KillSwitchReleased):
        engine.release_kill_switch(operator=command.operator, reason=command.reason)
    elif isinstance(command, TradingStateChanged):
        engine.set_trading_state(
            command.new_state, operator=command.operator, reason=command.reason
        )
    elif isinstance(command, OrderCancelRequested):
        engine.cancel_order(
            command.order_id, reason=command.reason, requested_by=command.requested_by
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
    venues: VenueRegistry = VENUES,
) -> tuple[TradingEngine, RecordedRun | None]:
    """A running engine positioned right after the last recorded bar time of the run."""
    recorded = read_run(store, prepared.spec.run_id)
    if recorded is None:
        engine = build_engine(
            prepared,
            sink,
            clock,
            flush_every=flush_every,
            flush_events=flush_events,
            venues=venues,
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
    engine = build_engine(
        prepared, dry, clock, flush_every=flush_every, flush_events=flush_events, venues=venues
    )
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
        while commands and _due(commands[0][0], journal.sequence, engine, recorded):
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


def _due(sequence: int, replayed: int, engine: TradingEngine, recorded: RecordedRun) -> bool:
    """Whether the command recorded at ``sequence`` is next: the replay has recorded every
    event before it and, for an operator's request, reached the market time it was applied
    at (bar times that recorded nothing in between must be processed first)."""
    place = recorded.places.get(sequence)
    return sequence == replayed + 1 and (place is None or place == engine.market_us)


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
