"""Paper trading: the same strategy and simulated venue, on the wall clock, fed bar by bar.

``ReplayFeed`` replays a bar file at ``speed`` x real time (0 = as fast as possible) through
the ``LiveFeed`` port, so a live market-data adapter can replace it. Each bar time is appended
before the next is processed; running the same command again after a crash resumes the run.
Operators steer a running session with ``lh ctl`` through the run's control stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.control import SessionControl
from api.application.runloop import Flushing, Session, run_recorded
from api.application.runs import (
    DATA_EXHAUSTED,
    BacktestConfig,
    BacktestResult,
    PreparedRun,
    Progress,
    prepare_run,
)
from domain.engine.ports import Clock, LiveFeed
from domain.events.types import RunMode
from domain.market import Bar
from infra.eventstore.sink import StoreSink
from infra.eventstore.store import EventStore, wall_clock_us
from infra.observability.logging import session_context
from infra.observability.session import SessionMetrics

log = logging.getLogger(__name__)

CONTROL_POLL_SECONDS = 0.2
"""The longest a paced wait goes without reading the control stream: a request is taken
within this much wall time at any replay speed."""


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
    venues: VenueRegistry = VENUES,
) -> BacktestResult:
    """Paper-trade ``config.bars``; an unfinished run with the same id is resumed.

    Operator requests (``lh ctl``) are taken from the run's control stream after each bar
    time and every ``CONTROL_POLL_SECONDS`` of the wait between bars (see ``control``).
    ``RunFailedError`` if the strategy or the run's machinery failed (see ``failures``);
    ``LeaseHeldError`` (nothing done) while another process runs it (see ``lease``).
    """
    prepared = prepare_run(config, RunMode.PAPER)
    run_id = prepared.spec.run_id
    observer = SessionMetrics(run_id)
    store.append_observers.append(observer)
    try:
        with session_context(run_id):
            log.info("paper session starting: strategy %s", prepared.spec.strategy)
            result = run_recorded(
                prepared,
                store,
                clock=clock or WallClock(),
                flushing=Flushing(1),
                open_sink=lambda lease: StoreSink(store, guard=lease.check),
                drive=lambda session: _drive(
                    session, prepared, store=store, speed=speed, feed=feed, progress=progress
                ),
                reconcile=True,
                venues=venues,
            )
            log.info("paper session done: final equity %s", result.final_equity)
            return result
    finally:
        store.append_observers.remove(observer)


def _drive(
    session: Session,
    prepared: PreparedRun,
    *,
    store: EventStore,
    speed: float,
    feed: Callable[[Sequence[Sequence[Bar]], int], LiveFeed] | None,
    progress: Progress | None,
) -> str:
    """Bar times one at a time, paced by the feed; the control stream read before the
    first (requests made while the session was down), after each, and during the waits."""
    engine = session.engine
    control = SessionControl(store, prepared.spec.run_id, session.applied)

    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            session.beat()
            control.apply_pending(engine)
            time.sleep(min(left, CONTROL_POLL_SECONDS))
        session.beat()
        control.apply_pending(engine)

    control.apply_pending(engine)
    remaining = prepared.groups[session.start :]
    interval_us = prepared.spec.interval_us
    source = (
        feed(remaining, interval_us)
        if feed
        else ReplayFeed(remaining, interval_us=interval_us, speed=speed, sleep=wait)
    )
    total = len(prepared.groups)
    try:
        for index, group in enumerate(source, start=session.start + 1):
            session.beat()
            engine.process(group)
            control.apply_pending(engine)
            if progress is not None:
                progress(index, total)
    except KeyboardInterrupt:
        return "operator stop"
    return DATA_EXHAUSTED
