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

A live run cannot be replayed against its venue (an exchange's answers cannot be produced
again): ``resume_live_engine`` replays its recorded bars through a venue that answers from the
log (``domain.live.replay``), and ``reconcile_live`` then asks the exchange what happened while
the session was down and records it before trading (``domain.live.reconcile`` plans it).

Valuations are not recorded every bar, so the log does not say how many bar times were
processed after its last event; it does not need to: bar times that record nothing are
simply processed again, which records nothing again (the run is deterministic).
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.live_snapshot import (
    SessionFacts,
    Snapshot,
    SnapshotUnusableError,
    facts_of,
)
from api.application.recorded_run import (
    RecordedRun,
    RecoveryError,
    RunClosedError,
    fold_after,
    fold_run,
    read_run,
    run_events,
)
from api.application.runs import DATA_EXHAUSTED, PreparedRun, build_engine
from domain.engine.engine import TradingEngine
from domain.engine.live_ports import LiveVenue
from domain.engine.ports import Clock, CollectingSink, EventSink
from domain.events.base import DomainEvent
from domain.events.catalog import (
    BalanceAdjusted,
    BarClosed,
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OrderCancelRequested,
    ReconciliationCompleted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RunFailed,
    RunSnapshotSaved,
    TradingStateChanged,
    VenueConnectionChanged,
)
from domain.events.codec import payload_hash
from domain.events.envelope import RecordedEvent, to_microseconds
from domain.events.streams import order_stream
from domain.ids import event_sequence
from domain.live.reconcile import (
    LocalOrder,
    VenueAnswers,
    balance_differences,
    plan_reconciliation,
)
from domain.live.replay import LogVenue, VenueSwitch, bar_of, is_report, reports_at
from domain.market import Bar
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


# --- live runs ------------------------------------------------------------------------------

MID_CALL_FACTS = (VenueConnectionChanged, TradingStateChanged)
"""Facts a live venue call records itself (the breaker opening, probing, closing)."""
SESSION_FACTS = (
    VenueConnectionChanged,
    ReconciliationCompleted,
    BalanceAdjusted,
    RunSnapshotSaved,
)
"""Facts of a live session's own, re-recorded where they are in the log."""
RECONCILER = "reconciliation"
BEAT_EVERY = 1_000
FILL_LOOKBACK_US = 600_000_000
"""Fills are asked for from this long before the last recorded one (clocks differ; the
venue's fill ids drop what was already recorded)."""


@dataclass
class LiveReplay:
    """A live run rebuilt from its log: the engine (on the live sink, its venue switch still
    on the log), what it was, the bar times it processed, the fills it recorded."""

    engine: TradingEngine
    recorded: RecordedRun
    groups: list[tuple[Bar, ...]]
    facts: SessionFacts
    last_event_us: int


def resume_live_engine(
    build: Callable[[EventSink], TradingEngine],
    switch: VenueSwitch,
    store: EventStore,
    run_id: str,
    sink: EventSink,
    *,
    config_hash: str,
    strategy_hash: str,
    beat: Callable[[], None] = lambda: None,
    warm_up: Callable[[TradingEngine, int | None], None] = lambda engine, first_us: None,
) -> LiveReplay | None:
    """Replay a live run's recorded bars through ``build``'s engine, the venue answering from
    the log (``domain.live.replay``), check it lands on the log, and switch it to ``sink``.
    ``warm_up(engine, first_us)`` runs once the engine has started, before the first bar
    (the strategy sees the history it saw live; warm-up is not in the log); ``first_us`` is
    the first recorded bar's time, ``None`` when the log holds no bar yet.
    ``beat`` is called every ``BEAT_EVERY`` bar times (the run lease: a long replay is not a
    stalled run). ``None`` if the run was never started."""
    read = run_events(store, run_id)
    if read is None:
        return None
    events = read[0]
    recorded = fold_run(run_id, *read)
    _refuse_other_run(recorded, config_hash=config_hash, strategy_hash=strategy_hash)
    dry = CollectingSink()
    engine = build(dry)
    bars = [e.payload for e in events if isinstance(e.payload, BarClosed)]
    first_us = to_microseconds(bars[0].open_time) if bars else None
    engine.start(_start_us(events) if first_us is None else first_us)
    warm_up(engine, first_us)
    groups = _replay_log(engine, switch, events, run_id, beat)
    _check_replay(engine, recorded, dry)
    engine.journal.sink = sink
    return LiveReplay(engine, recorded, groups, facts_of(events), events[-1].event_time_us)


def resume_live_from_snapshot(
    snapshot: Snapshot,
    switch: VenueSwitch,
    store: EventStore,
    run_id: str,
    *,
    dry: CollectingSink,
    sink: EventSink,
    beat: Callable[[], None] = lambda: None,
) -> LiveReplay:
    """``resume_live_engine`` from a loaded snapshot (its engine on ``dry``): only the
    events after it are read (``tail_events``) and replayed, and checked against the log."""
    engine = snapshot.engine
    events = tail_events(store, run_id, snapshot)
    recorded = fold_after(_state_of(engine), events)
    groups = _replay_log(engine, switch, events, run_id, beat, base=snapshot.covers)
    _check_replay(engine, recorded, dry)
    engine.journal.sink = sink
    recorded.causes |= snapshot.facts.applied
    facts = facts_of(events, snapshot.facts)
    return LiveReplay(engine, recorded, groups, facts, events[-1].event_time_us)


def tail_events(store: EventStore, run_id: str, snapshot: Snapshot) -> list[RecordedEvent]:
    """The run's events after the snapshot, in the order recorded: its run stream's, and
    those of the orders open at the snapshot or submitted after it (an order closed before
    the snapshot records nothing more; ``SnapshotUnusableError`` if the sequence has gaps)."""
    versions = snapshot.engine.journal.versions
    events = list(snapshot.run_tail)
    for order_id in snapshot.engine.orders:
        stream = order_stream(order_id)
        events.extend(store.read_stream_after(stream, versions.get(stream, 0)))
    for event in snapshot.run_tail:
        payload = event.payload
        if isinstance(payload, RiskDecisionMade) and payload.order_id is not None:
            stream = order_stream(payload.order_id)
            if stream not in versions:
                events.extend(store.read_stream(stream))
    events.sort(key=lambda e: event_sequence(e.event_id))
    expected = range(snapshot.covers + 1, snapshot.covers + 1 + len(events))
    if [event_sequence(e.event_id) for e in events] != list(expected):
        raise SnapshotUnusableError("the events after the snapshot are not all in the log")
    return events


def _state_of(engine: TradingEngine) -> RecordedRun:
    """The run's state after the snapshot's events, for ``fold_after`` (the book copied:
    the replay moves the engine's on)."""
    spec = engine.spec
    return RecordedRun(
        spec.run_id,
        engine.journal.sequence,
        dict(engine.journal.versions),
        0,
        False,
        copy.deepcopy(engine.book),
        config_hash=spec.config_hash,
        strategy_hash=spec.strategy_hash,
        open_orders={order.order_id: order.leaves for order in engine.orders.values()},
        last_valuation=engine.last_valuation,
    )


def _replay_log(
    engine: TradingEngine,
    switch: VenueSwitch,
    events: Sequence[RecordedEvent],
    run_id: str,
    beat: Callable[[], None],
    *,
    base: int = 0,
) -> list[tuple[Bar, ...]]:
    """Replay ``events`` (the run's events after its first ``base``) through ``engine``, the
    venue answering from them; the bar times processed."""
    journal = engine.journal

    def on_fact(event: RecordedEvent) -> bool:
        if not issubclass(event.event_class, MID_CALL_FACTS):
            return False
        _apply_live(engine, event.payload)
        return True

    switch.current = LogVenue(switch.name, events, lambda: journal.sequence - base, on_fact)
    groups: list[tuple[Bar, ...]] = []
    while (index := journal.sequence - base) < len(events):
        group = _group_at(events, index)
        if group is not None:
            engine.process(group)
            groups.append(group)
            if len(groups) % BEAT_EVERY == 0:
                beat()
        elif is_report(events[index]):
            for report in reports_at(events, index)[0]:
                engine.on_venue_report(report)
        else:
            _apply_live(engine, events[index].payload)
        if journal.sequence - base == index:
            raise RecoveryError(
                f"cannot resume run {run_id}: the replay records nothing at event "
                f"{base + index + 1} ({events[index].event_type})"
            )
    journal.flush()
    return groups


def _check_replay(engine: TradingEngine, recorded: RecordedRun, dry: CollectingSink) -> None:
    verify_replay(engine, recorded)
    replayed = [payload_hash(e.payload.model_dump(mode="json")) for e in dry.events]
    if replayed != recorded.payload_hashes:
        raise RecoveryError(f"cannot resume run {recorded.run_id}: the replay differs from the log")


def reconcile_live(
    engine: TradingEngine,
    venue: LiveVenue,
    *,
    symbols: Sequence[str],
    client_order_id: Callable[[str], str],
    fill_ids: set[str],
    since_us: int,
    adjustments: dict[str, Decimal],
) -> ReconciliationCompleted:
    """Ask the venue what happened while the session was down and record it before trading:
    each unacknowledged order by client id, open orders, fills since ``since_us``, balances.
    What is learned goes through the order manager (as if the venue had just reported it);
    balance differences are recorded as ``BalanceAdjusted``; then ``ReconciliationCompleted``
    with every difference. Every question is asked before anything is recorded, so a
    ``VenueUnavailableError`` (which propagates) leaves nothing half-recorded."""
    local = [
        LocalOrder(
            order.order_id,
            client_order_id(order.order_id),
            order.symbol,
            order.quantity,
            order.filled,
            bool(order.venue_order_id),
        )
        for order in engine.orders.values()
    ]
    venue_open = venue.open_orders(symbols)
    listed = {status.client_order_id for status in venue_open}
    statuses = {
        order.client_order_id: venue.order_by_client_id(order.client_order_id, order.symbol)
        for order in local
        if not order.acknowledged or order.client_order_id not in listed
    }
    fills = venue.fills_since(since_us, symbols)
    balances = venue.balances()
    plan = plan_reconciliation(local, fill_ids, VenueAnswers(statuses, venue_open, fills))
    for report in plan.reports:  # appended as one batch: all of what was learned, or none
        engine.order_manager.on_venue_report(report)
    engine.journal.flush()
    mismatches = list(plan.mismatches)
    held = _local_balances(engine, symbols, adjustments)
    for currency, amount in balance_differences(balances, held):
        engine.record_fact(
            BalanceAdjusted(
                account=engine.spec.account,
                currency=currency,
                amount=amount,
                reason="the venue's balance differs from the log's after reconciliation",
                operator=RECONCILER,
            )
        )
        adjustments[currency] = adjustments.get(currency, Decimal(0)) + amount
        mismatches.append(f"{currency}: balance {amount:+} at the venue")
    completed = ReconciliationCompleted(
        venue=engine.venue_name,
        account=engine.spec.account,
        local_open_orders=len(local),
        venue_open_orders=len(venue_open),
        mismatches=mismatches,
    )
    engine.record_fact(completed)
    return completed


def _refuse_other_run(recorded: RecordedRun, *, config_hash: str, strategy_hash: str) -> None:
    if recorded.failure is not None:
        raise RunClosedError(
            f"run {recorded.run_id} failed ({recorded.failure.error_type}: "
            f"{recorded.failure.message}) and is closed; fix the strategy and start again"
        )
    if recorded.strategy_hash != strategy_hash or recorded.config_hash != config_hash:
        raise RecoveryError(
            f"run id {recorded.run_id} was recorded with other strategy code or settings; "
            "choose another --run-id"
        )


def _apply_live(engine: TradingEngine, payload: DomainEvent) -> None:
    """Re-record a live session's fact or re-apply a command where the log has it."""
    if isinstance(payload, SESSION_FACTS):
        engine.record_fact(payload)
    else:
        apply_command(engine, payload)


def _group_at(events: Sequence[RecordedEvent], index: int) -> tuple[Bar, ...] | None:
    """The bar time starting at ``index`` (its poll's facts and reports, then ``BarClosed``),
    or ``None`` when no bar time starts there."""
    while index < len(events) and (
        is_report(events[index]) or issubclass(events[index].event_class, MID_CALL_FACTS)
    ):
        index += 1
    if index == len(events) or not isinstance(events[index].payload, BarClosed):
        return None
    first = events[index].payload
    assert isinstance(first, BarClosed)
    group = [bar_of(first)]
    for following in range(index + 1, len(events)):
        if events[following].event_class is BarClosed:
            payload = events[following].payload
            assert isinstance(payload, BarClosed)
            if payload.open_time != first.open_time:
                break
            group.append(bar_of(payload))
    return tuple(group)


def _start_us(events: Sequence[RecordedEvent]) -> int:
    return events[0].event_time_us


def _local_balances(
    engine: TradingEngine, symbols: Sequence[str], adjustments: dict[str, Decimal]
) -> dict[str, Decimal]:
    """What the log says the account holds: the book's cash in the quote currency, its
    position in each base currency, plus the adjustments recorded so far."""
    held = dict(adjustments)
    for symbol in symbols:
        base, _, quote = symbol.partition("/")
        held[base] = held.get(base, Decimal(0)) + engine.book.position(symbol)
        held.setdefault(quote, Decimal(0))
    quotes = {symbol.partition("/")[2] for symbol in symbols}
    for quote in quotes:
        held[quote] += engine.book.cash
    return held
