"""One reader for the whole log: sealed positions from the archive, the rest from the store.

Used by restore and by audit replay once Redis has been trimmed below the sealed position.
Every segment is checked (header, content hash, positions) as it is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from eventsourcing.persistence import Notification

from infra.archive.errors import ArchiveError
from infra.archive.layout import Archive
from infra.eventstore.store import EventStore


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
        for page in self.store.read_notifications(position, stop=stop, batch_size=self.page_size):
            if page[0].id != position + 1:
                raise ArchiveError(
                    f"gap between the archive and the event store {self.store.url}: expected "
                    f"position {position + 1}, the store has {page[0].id} next"
                )
            yield page
            position = page[-1].id
