"""One run lifecycle for every mode: build -> start or resume -> process -> stop -> result.

Backtest, paper and optimize (and live trading next) differ only in small parts given to
``run_recorded`` or ``run_in_memory``: the clock, how often the journal flushes, the sink a
recorded run appends through, and the ``Driver`` that feeds bar times to the engine (in
chunks with progress for a backtest; paced on the wall clock while taking operator requests
for paper). The lifecycle itself (the run's lease, resuming from the log, a run already
recorded to its end, the strategy's failure, an interrupted store, the result) is here once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.failures import (
    INTERRUPTIONS,
    RunFailedError,
    close_failed_run,
    record_interruption,
)
from api.application.lease import RunLease, hold_run
from api.application.recorded_run import RecordedRun
from api.application.recovery import reconciliation, resume_engine
from api.application.runs import (
    BacktestResult,
    PreparedRun,
    already_recorded_result,
    build_engine,
    result_of,
)
from domain.engine.engine import StrategyFailedError, TradingEngine
from domain.engine.ports import Clock, EventSink
from infra.eventstore.store import EventStore


class RecordingSink(EventSink, Protocol):
    """A sink into the store that knows the log positions it was given."""

    first_position: int
    last_position: int


@dataclass(frozen=True)
class Session:
    """A run ready to process: the engine, the bar times already done, the requests its log
    already applied (their event ids), and its lease (``None`` in memory)."""

    engine: TradingEngine
    start: int
    applied: frozenset[str]
    lease: RunLease | None

    def beat(self) -> None:
        if self.lease is not None:
            self.lease.beat()


Driver = Callable[[Session], str]
"""Feeds the session's remaining bar times to its engine; returns the reason to stop."""

Resume = Callable[[RecordingSink, RunLease], tuple[TradingEngine, RecordedRun | None]]
"""Builds the run's engine on the sink, resumed from the log when it holds the run (live
trading replays its log instead of its bars: ``recovery.resume_live_engine``); a long replay
beats the lease so that it is not taken for a stalled run."""


@dataclass(frozen=True)
class Flushing:
    """How often the journal is appended: every ``every`` bar times, or ``events`` pending."""

    every: int
    events: int = 0


def run_recorded(
    prepared: PreparedRun,
    store: EventStore,
    *,
    clock: Clock,
    flushing: Flushing,
    open_sink: Callable[[RunLease], AbstractContextManager[RecordingSink]],
    drive: Driver,
    reconcile: bool = False,
    venues: VenueRegistry = VENUES,
    resume: Resume | None = None,
) -> BacktestResult:
    """Run ``prepared`` into ``store`` under its lease, resuming what the log holds of it.

       ``reconcile``: record ``ReconciliationCompleted`` when resuming (a session with a venue
       to compare with). ``resume``: how the engine is built or resumed (default: a
       deterministic replay of ``prepared``'s bars, ``recovery.resume_engine``).
    ``RunFailedError`` if the strategy or the machinery failed (see
       ``failures``); ``LeaseHeldError`` (nothing done) while another process runs it."""
    spec = prepared.spec
    failed: RunFailedError | None = None
    with hold_run(store, spec.run_id) as lease:
        try:
            with open_sink(lease) as sink:
                engine, recorded = (
                    resume(sink, lease)
                    if resume is not None
                    else resume_engine(
                        prepared,
                        store,
                        sink,
                        clock,
                        flush_every=flushing.every,
                        flush_events=flushing.events,
                        venues=venues,
                    )
                )
                if recorded is not None and recorded.stopped:
                    return already_recorded_result(engine, prepared, events=recorded.events)
                if recorded is not None and reconcile:
                    engine.record_fact(reconciliation(engine, recorded))
                session = Session(
                    engine,
                    recorded.groups_done if recorded else 0,
                    frozenset(recorded.causes) if recorded else frozenset(),
                    lease,
                )
                try:
                    engine.stop(drive(session))
                except StrategyFailedError as error:
                    failed = close_failed_run(engine, spec.run_id, error, prepared.strategy)
        except INTERRUPTIONS as error:
            raise record_interruption(
                store, spec.run_id, spec.account, error, clock.now_us()
            ) from error
    if failed is not None:
        raise failed
    return result_of(
        engine,
        prepared,
        events=engine.journal.sequence,
        first_position=sink.first_position,
        last_position=sink.last_position,
    )


def run_in_memory(
    prepared: PreparedRun,
    sink: EventSink,
    *,
    clock: Clock,
    flushing: Flushing,
    drive: Driver,
    venues: VenueRegistry = VENUES,
) -> BacktestResult:
    """The same lifecycle without a store (``lh optimize``'s workers): a fresh run whose
    events go to ``sink``; ``StrategyFailedError`` propagates (nothing was recorded)."""
    engine = build_engine(
        prepared,
        sink,
        clock,
        flush_every=flushing.every,
        flush_events=flushing.events,
        venues=venues,
    )
    engine.start(prepared.groups[0][0].time_us)
    engine.stop(drive(Session(engine, 0, frozenset(), None)))
    return result_of(
        engine, prepared, events=engine.journal.sequence, first_position=0, last_position=0
    )
