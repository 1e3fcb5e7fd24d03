"""Run a backtest into the event store: ``run_backtest(config, store)``.

Events are appended in batches at bar boundaries: one batch once ``FLUSH_EVENTS`` events are
pending, or after ``FLUSH_EVERY_BARS`` bar times, appended by a writer process when the run
is long enough to repay starting one and the store can be reopened by URL
(``infra.eventstore.writer_process``), else in this process. A run id
already in the store is resumed (crash) or recognised as complete, so running the same config
twice records it once.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.lease import RunLease
from api.application.runloop import Flushing, Session, run_recorded
from api.application.runs import (
    DATA_EXHAUSTED,
    BacktestConfig,
    BacktestResult,
    PreparedRun,
    Progress,
    RunConfigError,
    prepare_run,
    run_groups,
)
from domain.engine.ports import Clock, SimulatedClock
from domain.events.types import RunMode
from infra.eventstore.sink import StoreSink
from infra.eventstore.store import EventStore
from infra.eventstore.writer_process import WriterProcessSink

FLUSH_EVERY_BARS = 50_000
FLUSH_EVENTS = 10_000
COLLECT_EVERY_BARS = 100_000
WRITER_MIN_BAR_TIMES = 20_000  # the writer process starts in ~0.25 s; a run this long repays it

__all__ = ["BacktestConfig", "BacktestResult", "RunConfigError", "run_backtest"]


@contextmanager
def _collector_paused() -> Iterator[Callable[[], None]]:
    """Keep Python's cyclic garbage collector out of the run's hot loop.

    A backtest holds a million or more objects for its whole length (bars, their groups,
    the equity curve) and churns through millions of short-lived ones (events pass to the
    sink and are dropped); automatic collections would scan the survivors again and again
    for no gain: the engine makes no reference cycles (a test checks that a run leaves no
    cyclic garbage). So collection is off from preparation to the end of the run. The
    ``collect`` it yields moves everything that exists out of the collector's sight the first
    time (the run's data, just prepared); each later call first finds the cycles made since
    the call before (a user strategy may make some). The run calls it every
    ``COLLECT_EVERY_BARS`` bar times. Does nothing if someone else already froze objects.
    """
    if gc.get_freeze_count():
        yield lambda: None
        return
    enabled = gc.isenabled()
    gc.disable()

    def collect() -> None:
        if gc.get_freeze_count():
            gc.collect(0)
        gc.freeze()

    try:
        yield collect
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _sink_for(store: EventStore, bar_times: int, lease: RunLease) -> StoreSink | WriterProcessSink:
    """A writer process for a run long enough to repay starting one (``WRITER_MIN_BAR_TIMES``),
    where the store can be opened again by URL and the system has POSIX pipes; otherwise this
    process. Not in a daemonic pool worker either: ``lh optimize`` already gives each worker a
    core, a writer each would only compete with them."""
    if (
        bar_times >= WRITER_MIN_BAR_TIMES
        and store.reopenable
        and os.name == "posix"
        and not multiprocessing.current_process().daemon
    ):
        return WriterProcessSink(store.url, key_prefix=store.key_prefix, lease=lease.lease)
    return StoreSink(store, guard=lease.check)


def run_backtest(
    config: BacktestConfig,
    store: EventStore,
    *,
    progress: Progress | None = None,
    venues: VenueRegistry = VENUES,
    clock: Clock | None = None,
) -> BacktestResult:
    """Validate, run and record one backtest; ``RunConfigError`` before anything is written,
    ``RunFailedError`` if the strategy or the run's machinery failed (see ``failures``),
    ``LeaseHeldError`` (nothing done) while another process runs it (see ``lease``).
    ``venues`` and ``clock`` (a new ``SimulatedClock`` by default) come from the composition
    root (``api.application.bootstrap``)."""
    with _collector_paused() as collect:
        prepared = prepare_run(config, RunMode.BACKTEST)
        return run_recorded(
            prepared,
            store,
            clock=clock or SimulatedClock(),
            flushing=Flushing(FLUSH_EVERY_BARS, FLUSH_EVENTS),
            open_sink=lambda lease: _sink_for(store, len(prepared.groups), lease),
            drive=lambda session: _drive(session, prepared, collect, progress),
            venues=venues,
        )


def _drive(
    session: Session,
    prepared: PreparedRun,
    collect: Callable[[], None],
    progress: Progress | None,
) -> str:
    """As fast as possible, a chunk of bar times at a time; the collector's sweep of what
    is young every ``COLLECT_EVERY_BARS``. Backtests take no operator requests."""
    engine = session.engine
    collect()
    collected_at = session.start
    for done in run_groups(engine, prepared.groups, progress, start=session.start):
        session.beat()
        if done - collected_at >= COLLECT_EVERY_BARS:
            engine.journal.flush()  # pending events are most of what is young
            collect()
            collected_at = done
    return DATA_EXHAUSTED
