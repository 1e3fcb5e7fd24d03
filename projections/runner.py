"""Drive read models from the log: catch up from each one's checkpoint, then follow live appends.

One thread per projection, each with its own read cursor, so a slow backend never holds the
others back. A projection's checkpoint is the only cursor that matters: every (re)start reads
from it, and projections drop re-delivered events themselves, so delivery is exactly once.
``stop()`` (or SIGINT/SIGTERM after ``install_signal_handlers``) lets every thread finish the
batch it is applying and return. A read model that cannot apply an event stops with an error
naming it, the position, the event type and the reason, recorded in ``FailureRecords`` for
``status`` and ``verify`` in other processes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import InvalidOperation
from types import FrameType
from typing import NoReturn

from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore
from infra.observability.projection_lag import PROJECTIONS
from projections.base import Projection
from projections.chaincheck import ChainCheck
from projections.failures import Failure, FailureRecords
from projections.pages import DecodedTail, SharedPages

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (projection, checkpoint, target)
Applied = Callable[[str, int], None]  # (projection, new checkpoint)


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    checkpoint: int
    head: int
    failure: Failure | None = None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.checkpoint)


class ProjectionFailedError(RuntimeError):
    """One or more projections stopped on an error; the message lists them."""


class ProjectionApplyError(RuntimeError):
    """A read model cannot apply one event; the message names read model, position, event
    type and reason."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def reason(error: BaseException) -> str:
    """An error as a reason in one line: the driver's own error rather than a wrapper that
    quotes the whole statement and its parameters, and a bare ``decimal.InvalidOperation``
    (which says nothing) said in words."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        if isinstance(current, InvalidOperation):
            return "a decimal value does not fit the read model (decimal.InvalidOperation)"
        original = getattr(current, "orig", None)  # SQLAlchemy wraps the driver's error
        current = original if isinstance(original, BaseException) else current.__cause__
    innermost = seen[-1]
    text = " ".join(str(innermost).split())[:300]
    return f"{type(innermost).__name__}: {text}" if text else type(innermost).__name__


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
        failures: FailureRecords | None = None,
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
        self.failures = failures
        self.chain = ChainCheck(store)
        self._failed: dict[str, int] = {}  # name -> position of its recorded failure
        if failures is not None:
            for projection in self.projections:
                failure = failures.get(projection.name)
                if failure is not None:
                    self._failed[projection.name] = failure.position

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
        """Checkpoints, head and each read model's recorded failure (``None`` when healthy)."""
        head = self.store.head()
        statuses = [
            ProjectionStatus(p.name, p.checkpoint(), head, self.failure(p))
            for p in self.projections
        ]
        for status in statuses:
            _publish(status.name, status.checkpoint, head)
        return statuses

    def failure(self, projection: Projection) -> Failure | None:
        """The recorded failure of ``projection``, unless it has applied past it since."""
        found = self.failures.get(projection.name) if self.failures is not None else None
        if found is None or found.position <= projection.checkpoint():
            return None
        return found

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
            except ProjectionApplyError as error:
                log.debug("projection %s stopped", projection.name, exc_info=True)
                self.errors[projection.name] = error
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
            listed = "; ".join(
                str(error) if isinstance(error, ProjectionApplyError) else f"{name}: {error}"
                for name, error in self.errors.items()
            )
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
            except ProjectionApplyError as error:
                # Maybe transient (a database restart): retried, and shown as failed meanwhile.
                log.error("%s; retrying from its checkpoint in %.1f s", error, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 30.0)
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
        broken = self.chain.first_break(events)
        if broken is not None:
            position, why = broken
            intact = [event for event in events if event.position < position]
            if intact:
                self._apply(projection, intact)
            event_type = next(e.event_type for e in events if e.position == position)
            self._fail(Failure(projection.name, position, event_type, why))
        try:
            projection.apply(events)
        except Exception as error:
            self._apply_one_by_one(projection, events, error)
        position = events[-1].position
        failed = self._failed.get(projection.name)
        if failed is not None and position >= failed and self.failures is not None:
            self.failures.clear(projection.name)
            del self._failed[projection.name]
        if self.on_applied:
            self.on_applied(projection.name, position)
        return position

    def _apply_one_by_one(
        self, projection: Projection, events: Sequence[RecordedEvent], error: Exception
    ) -> None:
        """A batch failed (and was rolled back): apply its events one at a time to find the one
        that cannot be applied, and record which and why. Each apply is atomic on its own, so
        the events before it are applied exactly once and the checkpoint stops right before it.
        """
        failing = events[0]
        if len(events) > 1:
            for event in events:
                try:
                    projection.apply([event])
                except Exception as single:
                    error, failing = single, event
                    break
            else:
                return  # every event applied on its own: the batch's error was passing
        self._fail(Failure(projection.name, failing.position, failing.event_type, reason(error)))

    def _fail(self, failure: Failure) -> NoReturn:
        """Record why the read model stops at ``failure.position`` and stop it there."""
        if self.failures is not None:
            self.failures.record(failure)
            self._failed[failure.projection] = failure.position
        raise ProjectionApplyError(failure)


def _publish(name: str, checkpoint: int, head: int) -> None:
    PROJECTIONS.publish(name, checkpoint, head)


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds pass (for tools and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
