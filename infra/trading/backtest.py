"""Run a backtest into the event store: ``run_backtest(config, store)``.

Events are appended in batches at bar boundaries: one ``EventStore.append`` once
``FLUSH_EVENTS`` events are pending, or after ``FLUSH_EVERY_BARS`` bar times. A run id already
in the store is resumed (crash) or recognised as complete, so running the same config twice
records it once.
"""

from __future__ import annotations

from domain.engine.ports import SimulatedClock
from domain.events.types import RunMode
from infra.eventstore.store import EventStore
from infra.trading.recovery import resume_engine
from infra.trading.runs import (
    BacktestConfig,
    BacktestResult,
    Progress,
    RunConfigError,
    StoreSink,
    prepare_run,
    result_of,
    run_groups,
)

FLUSH_EVERY_BARS = 50_000
FLUSH_EVENTS = 2_000

__all__ = ["BacktestConfig", "BacktestResult", "RunConfigError", "run_backtest"]


def run_backtest(
    config: BacktestConfig, store: EventStore, *, progress: Progress | None = None
) -> BacktestResult:
    """Validate, run and record one backtest; ``RunConfigError`` before anything is written."""
    prepared = prepare_run(config, RunMode.BACKTEST)
    sink = StoreSink(store)
    engine, recorded = resume_engine(
        prepared,
        store,
        sink,
        SimulatedClock(),
        flush_every=FLUSH_EVERY_BARS,
        flush_events=FLUSH_EVENTS,
    )
    if recorded is not None and recorded.stopped:
        return result_of(
            engine,
            prepared,
            events=recorded.events,
            first_position=0,
            last_position=0,
            already_recorded=True,
        )
    done = recorded.groups_done if recorded else 0
    for _ in run_groups(engine, prepared.groups, progress, start=done):
        pass
    engine.stop("data exhausted")
    return result_of(
        engine,
        prepared,
        events=engine.journal.sequence,
        first_position=sink.first_position,
        last_position=sink.last_position,
    )
