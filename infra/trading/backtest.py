"""Run a backtest into the event store: ``run_backtest(config, store)``.

Events are appended in batches at bar boundaries: one batch once ``FLUSH_EVENTS`` events are
pending, or after ``FLUSH_EVERY_BARS`` bar times, appended by a writer process when the store
can be reopened by URL (``infra.trading.writer_process``), else in this process. A run id
already in the store is resumed (crash) or recognised as complete, so running the same config
twice records it once.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
from infra.trading.writer_process import WriterProcessSink

FLUSH_EVERY_BARS = 50_000
FLUSH_EVENTS = 10_000
REFREEZE_EVERY_BARS = 20_000

__all__ = ["BacktestConfig", "BacktestResult", "RunConfigError", "run_backtest"]


@contextmanager
def _collector_frozen() -> Iterator[Callable[[], None]]:
    """Keep the garbage collector off the objects the run holds for its whole length (the
    bars and their groups, a million or more): scanning them is most of the cost of every
    full collection. Collection is paused while the run is prepared; the ``freeze`` it
    yields moves everything that exists then out of the collector's sight and resumes it.
    Does nothing if someone else already froze objects."""
    if gc.get_freeze_count():
        yield lambda: None
        return
    enabled = gc.isenabled()
    gc.disable()

    thresholds = gc.get_threshold()

    def freeze() -> None:
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)  # young collections: fewer, not bigger in total
        if enabled:
            gc.enable()

    try:
        yield freeze
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        if enabled:
            gc.enable()


def _sink_for(store: EventStore) -> StoreSink | WriterProcessSink:
    """A writer process where the store can be opened again by URL (and this process may
    have children: a daemonic pool worker may not); otherwise this process."""
    if store.reopenable and not multiprocessing.current_process().daemon:
        return WriterProcessSink(store.url, key_prefix=store.key_prefix)
    return StoreSink(store)


def run_backtest(
    config: BacktestConfig, store: EventStore, *, progress: Progress | None = None
) -> BacktestResult:
    """Validate, run and record one backtest; ``RunConfigError`` before anything is written."""
    with _collector_frozen() as freeze:
        prepared = prepare_run(config, RunMode.BACKTEST)
        with _sink_for(store) as sink:
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
            freeze()
            start = frozen_at = recorded.groups_done if recorded else 0
            for done in run_groups(engine, prepared.groups, progress, start=start):
                if done - frozen_at >= REFREEZE_EVERY_BARS:
                    freeze()  # the equity curve and other run-long state grow as the run goes
                    frozen_at = done
            engine.stop("data exhausted")
        return result_of(
            engine,
            prepared,
            events=engine.journal.sequence,
            first_position=sink.first_position,
            last_position=sink.last_position,
        )
