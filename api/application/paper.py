"""Paper trading: the same strategy and simulated venue, on the wall clock, fed bar by bar.

``ReplayFeed`` replays a bar file at ``speed`` x real time (0 = as fast as possible) through
the ``LiveFeed`` port, so a live market-data adapter can replace it. Each bar time is appended
before the next is processed; running the same command again after a crash resumes the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.failures import (
    INTERRUPTIONS,
    close_failed_run,
    record_interruption,
)
from api.application.lease import RunLease, hold_run
from api.application.recovery import reconciliation, resume_engine
from api.application.runs import (
    DATA_EXHAUSTED,
    BacktestConfig,
    BacktestResult,
    PreparedRun,
    Progress,
    already_recorded_result,
    prepare_run,
    result_of,
)
from domain.engine.engine import StrategyFailedError, TradingEngine
from domain.engine.ports import Clock, LiveFeed
from domain.events.types import RunMode
from domain.market import Bar
from infra.eventstore.sink import StoreSink
from infra.eventstore.store import EventStore, wall_clock_us


class WallClock:
    """Event time is now; bars do not move it."""

    def now_us(self) -> int:
        return wall_clock_us()

    def observe(self, time_us: int) -> None:
        return None


class ReplayFeed:
    """Bar groups from a file, paced at ``speed`` x their interval (0 = no pause)."""

    def __init__(
        self,
        groups: Sequence[Sequence[Bar]],
        *,
        interval_us: int,
        speed: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._groups = groups
        self._pause = 0.0 if speed == 0 else interval_us / 1_000_000 / speed
        self._sleep = sleep

    def __iter__(self) -> Iterator[Sequence[Bar]]:
        for index, group in enumerate(self._groups):
            if index and self._pause:
                self._sleep(self._pause)
            yield group


def run_paper(
    config: BacktestConfig,
    store: EventStore,
    *,
    speed: float = 60.0,
    clock: Clock | None = None,
    feed: Callable[[Sequence[Sequence[Bar]], int], LiveFeed] | None = None,
    progress: Progress | None = None,
    controls: Callable[[TradingEngine, int], None] | None = None,
    venues: VenueRegistry = VENUES,
) -> BacktestResult:
    """Paper-trade ``config.bars``; an unfinished run with the same id is resumed.

    ``controls(engine, bars_done)`` runs after each bar time: the place for operator commands
    (``engine.engage_kill_switch``...), which are recorded and survive a restart.
    ``RunFailedError`` if the strategy or the run's machinery failed (see ``failures``);
    ``LeaseHeldError`` (nothing done) while another process runs it (see ``lease``).
    """
    prepared = prepare_run(config, RunMode.PAPER)
    clock = clock or WallClock()
    with hold_run(store, prepared.spec.run_id) as lease:
        try:
            return _run_paper(
                prepared,
                store,
                clock,
                lease,
                speed=speed,
                feed=feed,
                progress=progress,
                controls=controls,
                venues=venues,
            )
        except INTERRUPTIONS as error:
            spec = prepared.spec
            raise record_interruption(
                store, spec.run_id, spec.account, error, clock.now_us()
            ) from error


def _run_paper(
    prepared: PreparedRun,
    store: EventStore,
    clock: Clock,
    lease: RunLease,
    *,
    speed: float,
    feed: Callable[[Sequence[Sequence[Bar]], int], LiveFeed] | None,
    progress: Progress | None,
    controls: Callable[[TradingEngine, int], None] | None,
    venues: VenueRegistry,
) -> BacktestResult:
    sink = StoreSink(store, guard=lease.check)
    engine, recorded = resume_engine(prepared, store, sink, clock, flush_every=1, venues=venues)
    if recorded is not None and recorded.stopped:
        return already_recorded_result(engine, prepared, events=recorded.events)
    done = recorded.groups_done if recorded else 0
    if recorded is not None:
        engine.record_fact(reconciliation(engine, recorded))
    remaining = prepared.groups[done:]
    interval_us = prepared.spec.interval_us
    source = (
        feed(remaining, interval_us)
        if feed
        else ReplayFeed(remaining, interval_us=interval_us, speed=speed, sleep=lease.sleep)
    )
    total = len(prepared.groups)
    reason = DATA_EXHAUSTED
    try:
        for index, group in enumerate(source, start=done + 1):
            lease.beat()
            engine.process(group)
            if controls is not None:
                controls(engine, index)
            if progress is not None:
                progress(index, total)
    except KeyboardInterrupt:
        reason = "operator stop"
    except StrategyFailedError as error:
        raise close_failed_run(engine, prepared.spec.run_id, error, prepared.strategy) from None
    engine.stop(reason)
    return result_of(
        engine,
        prepared,
        events=engine.journal.sequence,
        first_position=sink.first_position,
        last_position=sink.last_position,
    )
