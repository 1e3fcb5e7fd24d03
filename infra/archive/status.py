"""Status: how far the log is sealed, and how much is still only in the event store."""

from __future__ import annotations

from dataclasses import dataclass

from infra.archive.compare import store_first_position
from infra.archive.layout import Archive
from infra.eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class ArchiveStatus:
    archive_id: str
    object_store: str
    sealed_to: int
    head: int
    store_first: int | None
    segments: int
    last_hash: str

    @property
    def unsealed(self) -> int:
        return max(0, self.head - self.sealed_to)


def archive_status(store: EventStore, archive: Archive) -> ArchiveStatus:
    manifest = archive.load_manifest()
    head = store.head()
    return ArchiveStatus(
        archive_id=archive.archive_id,
        object_store=archive.objects.url,
        sealed_to=manifest.sealed_to,
        head=head,
        store_first=store_first_position(store),
        segments=len(manifest.segments),
        last_hash=manifest.last_hash,
    )
