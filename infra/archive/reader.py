"""Reading the log below Redis' trim point: sealed positions from the archive, the rest from
the store.

``ArchiveReader`` is restore's reader (archive, then an optional tail store). ``ArchiveLog`` is
the event store's ``SealedLog``: every reader of the log (audit, projections, recovery, the
CLI) goes through ``EventStore``, which asks it for what Redis no longer holds. Every segment
is checked (header, content hash, positions) as it is read; every failure to read the archive
becomes one ``LogUnreadableError`` naming the positions, the cause and the fix.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from eventsourcing.persistence import Notification

from adapters.objectstore import open_object_store
from adapters.objectstore.base import ObjectStoreError
from infra.archive.errors import ArchiveError
from infra.archive.layout import Archive, Manifest, SegmentEntry
from infra.archive.verify import check_links
from infra.eventstore.errors import LogUnreadableError
from infra.eventstore.store import EventStore

CACHED_SEGMENTS = 4


class ArchiveReader:
    """``read_notifications`` like ``EventStore``'s, but reaching below the store's trim point."""

    def __init__(
        self, archive: Archive, store: EventStore | None = None, *, page_size: int = 10_000
    ) -> None:
        self.archive = archive
        self.store = store
        self.page_size = page_size

    def read_notifications(
        self, after: int = 0, stop: int | None = None
    ) -> Iterator[Sequence[Notification]]:
        """Pages of records with ``after < position <= stop``, gapless, in position order."""
        position = after
        for entry in self.archive.load_manifest().segments:
            if stop is not None and position >= stop:
                return
            if entry.last <= position:
                continue
            if entry.first > position + 1:
                raise ArchiveError(
                    f"archive gap: segment {entry.key} starts at {entry.first}, "
                    f"expected {position + 1}"
                )
            records = self.archive.read_segment(entry)
            start = position + 1 - entry.first
            end = len(records) if stop is None else min(len(records), stop - entry.first + 1)
            for offset in range(start, end, self.page_size):
                yield records[offset : min(offset + self.page_size, end)]
            position = entry.first + end - 1
        if self.store is None or (stop is not None and position >= stop):
            return
        pages = self.store.read_live_notifications(position, stop=stop, batch_size=self.page_size)
        for page in pages:
            if page[0].id != position + 1:
                raise ArchiveError(
                    f"gap between the archive and the event store {self.store.url}: expected "
                    f"position {position + 1}, the store has {page[0].id} next"
                )
            yield page
            position = page[-1].id


class ArchiveLog:
    """The archive as the event store's source for positions trimmed from Redis.

    The object store is opened on first use, so a store that was never trimmed never touches
    it. Segments are immutable: the last few decoded ones are kept, so projections reading
    page by page (from several threads) decode each segment about once, and the manifest is
    re-read only when a read reaches past what it knew. Stream reads index which segments hold
    which streams once (one pass over the trimmed segments), so recovering a run's order
    streams reads each segment about once too.
    """

    def __init__(self, open_archive: Callable[[], Archive], *, page_size: int = 10_000) -> None:
        self._open_archive = open_archive
        self._page_size = page_size
        self._archive: Archive | None = None
        self._manifest: Manifest | None = None
        self._streams: dict[str, list[int]] = {}
        self._indexed = 0
        self._segments: OrderedDict[int, list[Notification]] = OrderedDict()
        self._lock = threading.RLock()

    def read_notifications(self, after: int, stop: int) -> Iterator[Sequence[Notification]]:
        """Pages of ``after < position <= stop``; raises unless the archive holds all of them."""
        with self._unreadable(after + 1, stop):
            position = after
            for number, entry in enumerate(self._sealed_to(stop).segments):
                if position >= stop:
                    break
                if entry.last <= position:
                    continue
                if entry.first > position + 1:
                    raise ArchiveError(f"segment {entry.key} starts at {entry.first}")
                records = self._segment(number, entry)
                start, end = position + 1 - entry.first, min(len(records), stop - entry.first + 1)
                for offset in range(start, end, self._page_size):
                    yield records[offset : min(offset + self._page_size, end)]
                position = entry.first + end - 1

    def stream_records(self, stream_id: str, below: int) -> list[Notification]:
        """The records of ``stream_id`` with positions below ``below``, in version order."""
        with self._unreadable(1, below - 1), self._lock:
            segments = [e for e in self._sealed_to(below - 1).segments if e.first < below]
            for number in range(self._indexed, len(segments)):
                for stream in {
                    str(r.originator_id) for r in self._segment(number, segments[number])
                }:
                    self._streams.setdefault(stream, []).append(number)
            self._indexed = max(self._indexed, len(segments))
            found = [
                record
                for number in self._streams.get(stream_id, [])
                if number < len(segments)
                for record in self._segment(number, segments[number])
                if record.originator_id == stream_id and record.id < below
            ]
        return sorted(found, key=lambda record: record.originator_version)

    def chain_hashes(self, after: int, stop: int) -> list[tuple[int, bytes]]:
        """(position, live chain hash) the seal recorded at segment ends, ``after < position
        <= stop``: what the trimmed part of the chain is checked against."""
        with self._unreadable(after + 1, stop):
            return [
                (entry.last, bytes.fromhex(entry.live_chain))
                for entry in self._sealed_to(stop).segments
                if entry.live_chain is not None and after < entry.last <= stop
            ]

    def check_covers(self, upto: int, *, deep: bool = False) -> None:
        """Proof that positions ``1..upto`` can be read: the manifest chain is unbroken and
        reaches ``upto``, and every segment object below it exists (``deep``: and decodes with
        its size and content hash as the manifest recorded them)."""
        with self._unreadable(1, upto), self._lock:
            self._manifest = None
            archive, manifest = self._opened(), self._sealed_to(upto)
            problems = check_links(archive, manifest)
            if problems:
                raise ArchiveError(f"the archive chain is broken: {problems[0]}")
            for entry in manifest.segments:
                if entry.first <= upto and deep:
                    archive.read_segment(entry)
                elif entry.first <= upto and not archive.objects.exists(entry.key):
                    raise ArchiveError(
                        f"segment {entry.key} (positions {entry.first}-{entry.last}) is missing"
                    )

    def _opened(self) -> Archive:
        with self._lock:
            if self._archive is None:
                self._archive = self._open_archive()
            return self._archive

    def _sealed_to(self, upto: int) -> Manifest:
        """The manifest, re-read unless the one known already covers ``upto``."""
        with self._lock:
            if self._manifest is None or self._manifest.sealed_to < upto:
                self._manifest = self._opened().load_manifest()
            manifest = self._manifest
        if manifest.sealed_to < upto:
            raise ArchiveError(
                f"archive {manifest.archive_id!r} is sealed only to position "
                f"{manifest.sealed_to}; is LH_ARCHIVE_ID or LH_OBJECT_STORE pointing at another "
                "archive than `lh archive seal` wrote?"
            )
        return manifest

    def _segment(self, number: int, entry: SegmentEntry) -> list[Notification]:
        with self._lock:
            records = self._segments.pop(number, None)
            if records is None:
                records = self._opened().read_segment(entry)
            self._segments[number] = records
            while len(self._segments) > CACHED_SEGMENTS:
                self._segments.popitem(last=False)
            return records

    @contextmanager
    def _unreadable(self, first: int, last: int) -> Iterator[None]:
        try:
            yield
        except (ArchiveError, ObjectStoreError, OSError, ValueError) as error:
            raise LogUnreadableError(
                f"positions {first}..{last} were trimmed from the event store after sealing and "
                f"cannot be read from the archive: {error}; run `lh archive verify` and restore "
                "the archive (LH_OBJECT_STORE, LH_ARCHIVE_ID) from its backup"
            ) from None


def archive_log(object_store: str, archive_id: str) -> ArchiveLog:
    """The ``SealedLog`` of archive ``archive_id`` in the object store at ``object_store``."""
    return ArchiveLog(lambda: Archive(open_object_store(object_store), archive_id))
