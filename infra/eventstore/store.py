"""The event store facade: append domain events, read them back in global order, follow live.

It sits on an eventsourcing ``ApplicationRecorder`` (SQLite or our Redis Streams module) and
adds what the trading platform needs on top of the library contract: the canonical envelope,
idempotent re-append of an already-recorded event id, and typed reads.

Reads cover the whole log even after Redis was trimmed below the sealed position: positions
and stream versions the recorder no longer holds come from the ``sealed`` log (the archive),
the rest from the recorder. Reads that the recorder serves cost nothing extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Notification, StoredEvent

from domain.events.codec import SerializedEvent, decode, serialize, stored_form
from domain.events.envelope import NewEvent, RecordedEvent
from infra.eventstore.errors import (
    LogUnreadableError,
    PositionTrimmedError,
    StreamVersionConflictError,
)
from infra.observability.metrics import APPEND_SECONDS, EVENTS_APPENDED

Clock = Callable[[], int]
AppendObserver = Callable[[Sequence[NewEvent]], None]


def wall_clock_us() -> int:
    return time.time_ns() // 1_000


class SealedLog(Protocol):
    """Where positions trimmed from the store are read (the archive); raises
    ``LogUnreadableError`` when it cannot deliver exactly what is asked."""

    def read_notifications(self, after: int, stop: int) -> Iterator[Sequence[Notification]]:
        """Pages of the records with ``after < position <= stop``, gapless."""
        ...

    def stream_records(self, stream_id: str, below: int) -> list[Notification]:
        """The records of one stream with positions below ``below``, in version order."""
        ...

    def chain_hashes(self, after: int, stop: int) -> list[tuple[int, bytes]]:
        """(position, chain hash) the archive recorded, ``after < position <= stop``."""
        ...

    def check_covers(self, upto: int, *, deep: bool = False) -> None:
        """Raise unless positions ``1..upto`` can be read: cheaply from the manifest and the
        objects' presence, or (``deep``) by reading and hash-checking every segment."""
        ...


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
        sealed: SealedLog | None = None,
    ) -> None:
        self.recorder = recorder
        self.url = url
        self.key_prefix = key_prefix
        self.sealed = sealed
        self._clock = clock
        self._identity: str | None = None
        self.append_observers: list[AppendObserver] = []
        """Called with each batch ``append`` recorded (not with duplicates), after it was
        recorded: a running session's metrics read its events here."""

    @property
    def reopenable(self) -> bool:
        """Whether ``open_event_store(url, key_prefix=...)`` elsewhere gives this same store,
        clock included (another process can then write for it)."""
        return bool(self.url) and self._clock is wall_clock_us

    @property
    def identity(self) -> str:
        """This store's identity: a random UUID kept in the store itself (a table in SQLite, a
        key under the prefix in Redis), created atomically the first time anything asks for it
        and never changed. Read models record it, so that they refuse another store's log."""
        if self._identity is None:
            self._identity = str(self._identity_call("store_identity"))
        return self._identity

    def adopt_identity(self, identity: str) -> None:
        """Take the identity of the log an archive restore is about to write into this EMPTY
        store (it is the same log); raises ``ValueError`` once the store holds an event."""
        self._identity_call("adopt_identity", identity)
        self._identity = identity

    def _identity_call(self, name: str, *args: str) -> object:
        method: Callable[..., object] | None = getattr(self.recorder, name, None)
        if method is None:
            raise TypeError(f"{type(self.recorder).__name__} keeps no store identity")
        return method(*args)

    def append(self, events: Sequence[NewEvent]) -> AppendResult:
        """Record ``events`` atomically, or recognise them as already recorded.

        Raises ``StreamVersionConflictError`` when a stream version is taken by another event.
        """
        result = self.append_serialized([serialize(event) for event in events])
        if not result.duplicate:
            for observer in self.append_observers:
                observer(events)
        return result

    def append_serialized(self, events: Sequence[SerializedEvent]) -> AppendResult:
        """``append`` for events whose payloads are already bytes (a writer process's input)."""
        if not events:
            return AppendResult(())
        started = time.perf_counter()
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
        APPEND_SECONDS.observe(time.perf_counter() - started)
        EVENTS_APPENDED.inc(len(stored))
        return AppendResult(tuple(positions or ()))

    def _recorded_event_id(self, stream_id: str, version: int) -> str | None:
        try:
            found = self.recorder.select_events(stream_id, gt=version - 1, lte=version)
        except PositionTrimmedError as trimmed:
            stream = self._stream_across_trim(stream_id, trimmed)
            found = [e for e in stream if e.originator_version == version]
        if not found:
            return None
        record = decode(Notification(id=0, **vars(found[0])))
        return record.event_id

    def head(self) -> int:
        """The highest global position recorded, 0 for an empty store."""
        return self.recorder.max_notification_id() or 0

    def held_from(self) -> int:
        """The lowest position the recorder itself still holds (Redis trims sealed events);
        ``head() + 1`` when it holds none of a trimmed log."""
        first_position = getattr(self.recorder, "first_position", None)
        if first_position is None:
            return 1
        found = first_position()
        return int(found) if found is not None else self.head() + 1

    def check_readable(self, *, deep: bool = False) -> None:
        """Raise ``LogUnreadableError`` unless the whole log can be read: what the recorder
        trimmed must be in the archive (``deep``: every segment read and its hash checked).
        Call it before dropping anything rebuilt from the log."""
        trimmed_to = self.held_from() - 1
        if trimmed_to < 1:
            return
        if self.sealed is None:
            raise LogUnreadableError(
                f"positions 1..{trimmed_to} were trimmed from the event store after sealing "
                "and no archive is configured to read them from: set LH_OBJECT_STORE and "
                "LH_ARCHIVE_ID to the archive `lh archive seal` wrote"
            )
        self.sealed.check_covers(trimmed_to, deep=deep)

    def stream_version(self, stream_id: str) -> int:
        try:
            last = self.recorder.select_events(stream_id, desc=True, limit=1)
        except PositionTrimmedError as trimmed:
            last = self._stream_across_trim(stream_id, trimmed)[-1:]
        return last[0].originator_version if last else 0

    def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of one stream, in version order (positions are not known here: 0)."""
        try:
            stored = self.recorder.select_events(stream_id)
        except PositionTrimmedError as trimmed:
            stored = self._stream_across_trim(stream_id, trimmed)
        return [decode(Notification(id=0, **vars(event))) for event in stored]

    def read_stream_after(
        self, stream_id: str, version: int, *, limit: int | None = None
    ) -> list[RecordedEvent]:
        """The events of one stream after ``version`` (at most ``limit``), in version order:
        what a restart from a snapshot reads instead of the whole stream."""
        try:
            stored = self.recorder.select_events(stream_id, gt=version, limit=limit)
        except PositionTrimmedError as trimmed:
            stored = [
                event
                for event in self._stream_across_trim(stream_id, trimmed)
                if event.originator_version > version
            ][:limit]
        return [decode(Notification(id=0, **vars(event))) for event in stored]

    def _stream_across_trim(
        self, stream_id: str, trimmed: PositionTrimmedError
    ) -> Sequence[StoredEvent]:
        """A stream partly trimmed from the recorder: its sealed versions, then the rest."""
        if self.sealed is None:
            raise trimmed
        archived = [
            StoredEvent(r.originator_id, r.originator_version, r.topic, r.state)
            for r in self.sealed.stream_records(stream_id, below=self.held_from())
        ]
        after = archived[-1].originator_version if archived else None
        return [*archived, *self.recorder.select_events(stream_id, gt=after)]

    def read_notifications(
        self,
        after: int = 0,
        *,
        stop: int | None = None,
        batch_size: int = 1_000,
        topics: Sequence[str] = (),
    ) -> Iterator[Sequence[Notification]]:
        """Stored records in global order, a page at a time; trimmed ones from the archive.
        ``topics`` (event types) keeps only those, filtered by the recorder where it can (a
        report reading a few event types of a long log skips the rest in the database)."""
        position = after
        while True:
            try:
                for page in self.read_live_notifications(
                    position, stop=stop, batch_size=batch_size, topics=topics
                ):
                    yield page
                    position = page[-1].id
                return
            except PositionTrimmedError as trimmed:
                position = yield from self._read_sealed(
                    position, stop, batch_size, trimmed, frozenset(topics)
                )

    def _read_sealed(
        self,
        after: int,
        stop: int | None,
        batch_size: int,
        trimmed: PositionTrimmedError,
        topics: frozenset[str],
    ) -> Generator[Sequence[Notification], None, int]:
        """The sealed records after ``after`` up to the recorder's first (or ``stop``)."""
        floor = self.held_from()
        upto = floor - 1 if stop is None else min(stop, floor - 1)
        if self.sealed is None or upto <= after:
            raise trimmed
        position = after
        for records in self.sealed.read_notifications(after, upto):
            for offset in range(0, len(records), batch_size):
                page = records[offset : offset + batch_size]
                position = page[-1].id
                chosen = [r for r in page if r.topic in topics] if topics else page
                if chosen:
                    yield chosen
        if position != upto:
            raise LogUnreadableError(
                f"positions {position + 1}..{upto} were trimmed from the event store and the "
                "archive does not deliver them"
            )
        return position

    def read_live_notifications(
        self,
        after: int = 0,
        *,
        stop: int | None = None,
        batch_size: int = 1_000,
        topics: Sequence[str] = (),
    ) -> Iterator[Sequence[Notification]]:
        """Records from the recorder alone, never the archive (what sealing and trimming
        compare the archive with); raises ``PositionTrimmedError`` below the trim point."""
        position = after
        while stop is None or position < stop:
            page = self.recorder.select_notifications(
                start=position,
                limit=batch_size,
                stop=stop,
                topics=topics,
                inclusive_of_start=False,
            )
            if not page:
                return
            yield page
            position = page[-1].id

    def complete_chain(self) -> int:
        """Chain the events recorded before this version's hash chain (once, after an
        upgrade; the next append does it too); returns the head. Raises ``TypeError`` for a
        recorder without a chain."""
        complete: Callable[[], int] | None = getattr(self.recorder, "complete_chain", None)
        if complete is None:
            raise TypeError(f"{type(self.recorder).__name__} keeps no hash chain")
        return complete()

    def read_chain(
        self, after: int = 0, *, stop: int | None = None, batch_size: int = 10_000
    ) -> Iterator[list[tuple[int, bytes]]]:
        """Pages of (position, chain hash) as the store recorded them (``domain/events/chain``),
        ``after < position <= stop``. Positions recorded without one (before the chain
        existed) are absent; ``chain_base`` covers them. Below Redis' trim point the chain
        comes from the archive: the hashes its seal recorded at each segment's end."""
        select: Callable[..., list[tuple[int, bytes]]] | None = getattr(
            self.recorder, "select_chain", None
        )
        if select is None:
            return
        position = after
        if self.sealed is not None:
            trimmed_to = self.held_from() - 1
            if position < trimmed_to:
                sealed = self.sealed.chain_hashes(
                    position, trimmed_to if stop is None else min(stop, trimmed_to)
                )
                if sealed:
                    yield sealed
                position = trimmed_to if stop is None else min(stop, trimmed_to)
        while stop is None or position < stop:
            page = select(position, batch_size, stop)
            if not page:
                return
            yield page
            position = page[-1][0]

    def chain_base(self) -> tuple[int, bytes] | None:
        """(position, chain hash) kept for events recorded before the chain, where the store
        keeps one instead of a hash per event (Redis); ``None`` otherwise."""
        base: Callable[[], tuple[int, bytes] | None] | None = getattr(
            self.recorder, "chain_base", None
        )
        return None if base is None else base()

    def record_sealed(self, archive_id: str, position: int) -> None:
        """Record in the store itself how far archive ``archive_id`` was sealed (never lowered):
        the one record of the seal an attacker with only the object store cannot rewrite."""
        record: Callable[[str, int], None] | None = getattr(self.recorder, "record_sealed", None)
        if record is not None:
            record(archive_id, position)

    def sealed_to(self, archive_id: str) -> int:
        """How far the store recorded archive ``archive_id`` sealed (0: never, or unknown)."""
        found: Callable[[str], int] | None = getattr(self.recorder, "sealed_to", None)
        return 0 if found is None else found(archive_id)

    def entries_beyond_head(self) -> list[str]:
        """Ids of entries the log holds past its head (a stray entry in the Redis log stream,
        which this store did not write); SQLite's head is its last row, so none there."""
        beyond: Callable[[], list[str]] | None = getattr(self.recorder, "entries_beyond_head", None)
        return [] if beyond is None else beyond()

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
