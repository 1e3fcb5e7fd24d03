"""The event store facade: append domain events, read them back in global order, follow live.

It sits on an eventsourcing ``ApplicationRecorder`` (SQLite or our Redis Streams module) and
adds what the trading platform needs on top of the library contract: the canonical envelope,
idempotent re-append of an already-recorded event id, and typed reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Notification

from domain.events.codec import SerializedEvent, decode, serialize, stored_form
from domain.events.envelope import NewEvent, RecordedEvent
from infra.eventstore.errors import StreamVersionConflictError

Clock = Callable[[], int]


def wall_clock_us() -> int:
    return time.time_ns() // 1_000


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Positions given to the batch; ``duplicate`` when every event was already recorded."""

    positions: tuple[int, ...]
    duplicate: bool = False


class EventStore:
    """Append and read events; everything else in LiangHua goes through this one object."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        *,
        url: str = "",
        key_prefix: str = "lh",
        clock: Clock = wall_clock_us,
    ) -> None:
        self.recorder = recorder
        self.url = url
        self.key_prefix = key_prefix
        self._clock = clock

    @property
    def reopenable(self) -> bool:
        """Whether ``open_event_store(url, key_prefix=...)`` elsewhere gives this same store,
        clock included (another process can then write for it)."""
        return bool(self.url) and self._clock is wall_clock_us

    def append(self, events: Sequence[NewEvent]) -> AppendResult:
        """Record ``events`` atomically, or recognise them as already recorded.

        Raises ``StreamVersionConflictError`` when a stream version is taken by another event.
        """
        return self.append_serialized([serialize(event) for event in events])

    def append_serialized(self, events: Sequence[SerializedEvent]) -> AppendResult:
        """``append`` for events whose payloads are already bytes (a writer process's input)."""
        if not events:
            return AppendResult(())
        recorded_time = self._clock()
        stored = [stored_form(event, recorded_time) for event in events]
        try:
            positions = self.recorder.insert_events(stored)
        except IntegrityError:
            recorded = [self._recorded_event_id(e.stream_id, e.stream_version) for e in events]
            if all(r == e.event_id for r, e in zip(recorded, events, strict=True)):
                return AppendResult((), duplicate=True)
            conflict = next(
                (e for r, e in zip(recorded, events, strict=True) if r not in (None, e.event_id)),
                events[0],
            )
            raise StreamVersionConflictError(conflict.stream_id, conflict.stream_version) from None
        return AppendResult(tuple(positions or ()))

    def _recorded_event_id(self, stream_id: str, version: int) -> str | None:
        found = self.recorder.select_events(stream_id, gt=version - 1, lte=version)
        if not found:
            return None
        record = decode(Notification(id=0, **vars(found[0])))
        return record.event_id

    def head(self) -> int:
        """The highest global position recorded, 0 for an empty store."""
        return self.recorder.max_notification_id() or 0

    def stream_version(self, stream_id: str) -> int:
        last = self.recorder.select_events(stream_id, desc=True, limit=1)
        return last[0].originator_version if last else 0

    def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of one stream, in version order (positions are not known here: 0)."""
        return [
            decode(Notification(id=0, **vars(stored)))
            for stored in self.recorder.select_events(stream_id)
        ]

    def read_notifications(
        self, after: int = 0, *, stop: int | None = None, batch_size: int = 1_000
    ) -> Iterator[Sequence[Notification]]:
        """Raw stored records in global order, a page at a time (for archive and projections)."""
        position = after
        while stop is None or position < stop:
            page = self.recorder.select_notifications(
                start=position, limit=batch_size, stop=stop, inclusive_of_start=False
            )
            if not page:
                return
            yield page
            position = page[-1].id

    def read_all(
        self, after: int = 0, *, stop: int | None = None, verify: bool = False
    ) -> Iterator[RecordedEvent]:
        """Decoded events with positions greater than ``after`` (up to ``stop``), in order."""
        for page in self.read_notifications(after, stop=stop):
            for notification in page:
                yield decode(notification, verify=verify)

    def follow(
        self,
        after: int = 0,
        *,
        poll_seconds: float = 0.2,
        stop_when: Callable[[], bool] = lambda: False,
        batch_size: int = 1_000,
    ) -> Iterator[Sequence[Notification]]:
        """Pages of new records (up to ``batch_size``) as they are appended, until ``stop_when()``.

        Uses the recorder's blocking subscription where it has one (Redis); the embedded
        SQLite recorder has none, so it is polled every ``poll_seconds``.
        """
        position = after
        while not stop_when():
            caught_up = True
            for page in self.read_notifications(position, batch_size=batch_size):
                caught_up = False
                yield page
                position = page[-1].id
            if caught_up:
                self._wait_for_more(position, poll_seconds)

    def _wait_for_more(self, position: int, poll_seconds: float) -> None:
        waiter = getattr(self.recorder, "wait_for_notification", None)
        if waiter is not None:
            waiter(position, poll_seconds)
        else:
            time.sleep(poll_seconds)

    def close(self) -> None:
        close = getattr(self.recorder, "close", None)
        if close is not None:
            close()
