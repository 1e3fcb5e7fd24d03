"""Drive read models from the log: catch up from each one's checkpoint, then follow live appends.

One thread per projection, each with its own read cursor, so a slow backend never holds the
others back. A projection's checkpoint is the only cursor that matters: every (re)start reads
from it, and projections drop re-delivered events themselves, so delivery is exactly once.
``stop()`` (or SIGINT/SIGTERM after ``install_signal_handlers``) lets every thread finish the
batch it is applying and return.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from prometheus_client import Gauge

from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore
from projections.base import Projection
from projections.pages import DecodedTail, SharedPages

log = logging.getLogger(__name__)

LAG = Gauge(
    "lh_projection_lag_events",
    "Events in the log not yet applied (head - checkpoint)",
    ["projection"],
)
CHECKPOINT = Gauge(
    "lh_projection_checkpoint", "Last global position applied by the projection", ["projection"]
)

Progress = Callable[[str, int, int], None]  # (projection, checkpoint, target)
Applied = Callable[[str, int], None]  # (projection, new checkpoint)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    checkpoint: int
    head: int

    @property
    def lag(self) -> int:
        return max(0, self.head - self.checkpoint)


class ProjectionFailedError(RuntimeError):
    """One or more projections stopped on an error; the message lists them."""


class ProjectionRunner:
    """Feed ``projections`` from ``store``, each in its own thread, batch by batch."""

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = 2_000,
        poll_seconds: float = 0.2,
        retry_seconds: float = 1.0,
        on_applied: Applied | None = None,
    ) -> None:
        names = [projection.name for projection in projections]
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be unique, got {names}")
        self.store = store
        self.projections = list(projections)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.on_applied = on_applied
        self._stopping = threading.Event()
        self.errors: dict[str, BaseException] = {}

    # --- control --------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM stop gracefully: the batch in flight commits, then threads return."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping projections after the current batch", signum)
            self.stop()

        signal.signal(signal.SIGINT, handle)
        signal.signal(signal.SIGTERM, handle)

    def status(self) -> list[ProjectionStatus]:
        head = self.store.head()
        statuses = [ProjectionStatus(p.name, p.checkpoint(), head) for p in self.projections]
        for status in statuses:
            _publish(status.name, status.checkpoint, head)
        return statuses

    # --- work -----------------------------------------------------------------------------

    def catch_up(self, *, upto: int | None = None, progress: Progress | None = None) -> int:
        """Bring every projection to ``upto`` (default: the head now); returns that position."""
        target = self.store.head() if upto is None else upto
        pages = self._shared_pages()
        self._run_threads(lambda p: self._catch_up_one(p, target, progress, pages))
        return target

    def follow(self, *, progress: Progress | None = None) -> None:
        """Catch up, then apply live appends until ``stop()``.

        An error in one projection is logged and retried from its checkpoint (backing off from
        ``retry_seconds`` to 30 s); it never stops the others. Watch the lag gauge.
        """
        pages = self._shared_pages()
        tail = DecodedTail(capacity=4 * self.batch_size)
        self._run_threads(lambda p: self._follow_one(p, progress, pages, tail))

    def _shared_pages(self) -> SharedPages:
        return SharedPages(self.store, page_size=self.batch_size, readers=len(self.projections))

    def _run_threads(self, work: Callable[[Projection], None]) -> None:
        self.errors.clear()

        def guarded(projection: Projection) -> None:
            try:
                work(projection)
            except Exception as error:
                log.exception("projection %s stopped on an error", projection.name)
                self.errors[projection.name] = error

        threads = [
            threading.Thread(target=guarded, args=(p,), name=f"projection-{p.name}", daemon=True)
            for p in self.projections
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():  # short joins keep the main thread responsive to signals
                thread.join(0.2)
        if self.errors:
            listed = "; ".join(f"{name}: {error}" for name, error in self.errors.items())
            raise ProjectionFailedError(f"projection(s) failed: {listed}")

    def _catch_up_one(
        self, projection: Projection, target: int, progress: Progress | None, pages: SharedPages
    ) -> None:
        position = projection.checkpoint()
        _publish(projection.name, position, target)
        if progress:
            progress(projection.name, position, target)
        for events in pages.read(position, target):
            if self.stopping:
                return
            position = self._apply(projection, events)
            _publish(projection.name, position, target)
            if progress:
                progress(projection.name, position, target)

    def _follow_one(
        self,
        projection: Projection,
        progress: Progress | None,
        pages: SharedPages,
        tail: DecodedTail,
    ) -> None:
        backoff = self.retry_seconds
        while not self.stopping:
            try:
                self._catch_up_one(projection, self.store.head(), progress, pages)
                position = projection.checkpoint()
                notifications = self.store.follow(  # pages grow to batch_size when behind
                    position,
                    poll_seconds=self.poll_seconds,
                    stop_when=lambda: self.stopping,
                    batch_size=self.batch_size,
                )
                for page in notifications:
                    position = self._apply(projection, tail.decode(page))
                    backoff = self.retry_seconds
                    head = self.store.head()
                    _publish(projection.name, position, head)
                    if progress:
                        progress(projection.name, position, head)
                    if self.stopping:
                        return
            except Exception:
                # Transient outages (database restart, network) must not end live following;
                # the checkpoint says exactly where to resume.
                log.exception(
                    "projection %s: error, retrying from its checkpoint in %.1f s",
                    projection.name,
                    backoff,
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _apply(self, projection: Projection, events: Sequence[RecordedEvent]) -> int:
        projection.apply(events)
        position = events[-1].position
        if self.on_applied:
            self.on_applied(projection.name, position)
        return position


def _publish(name: str, checkpoint: int, head: int) -> None:
    CHECKPOINT.labels(projection=name).set(checkpoint)
    LAG.labels(projection=name).set(max(0, head - checkpoint))


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds pass (for tools and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
