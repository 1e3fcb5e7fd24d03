"""Sealing: copy the event log, in position order, into immutable hash-chained segments.

Resumable and idempotent. Each segment is written before the manifest names it, so a crash
leaves at worst an orphan segment; the next run proves the orphan continues the chain and
matches the event store, then adopts it. Segments are written with ``put_once``: created
atomically, never overwritten, and retained until ``retain_until`` where the bucket has
S3 Object Lock (see ``layout.py`` for why the manifest stays a mutable object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from eventsourcing.persistence import Notification

from adapters.objectstore.base import ObjectExistsError
from infra.archive.compare import compare_with_store
from infra.archive.errors import ArchiveError
from infra.archive.layout import Archive, Manifest, SegmentEntry, check_body
from infra.archive.livechain import live_hashes
from infra.archive.segment import build_segment, chain_hash, decompress, parse_header
from infra.eventstore.store import EventStore

DEFAULT_SEGMENT_SIZE = 10_000


@dataclass
class SealReport:
    archive_id: str
    head: int
    sealed_to: int
    written: list[SegmentEntry] = field(default_factory=list)
    adopted: list[SegmentEntry] = field(default_factory=list)
    retain_until: datetime | None = None
    """The retention the segments written in this run asked for."""

    @property
    def events(self) -> int:
        return sum(entry.header.count for entry in [*self.written, *self.adopted])


def seal(
    store: EventStore,
    archive: Archive,
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    final: bool = False,
    on_progress: Callable[[int], None] | None = None,
    retain_until: datetime | None = None,
) -> SealReport:
    """Seal every full segment of ``segment_size`` events after the last sealed position.

    ``final`` also seals the short tail (fewer events); later seals start right after it.
    ``on_progress`` receives the number of events of each segment sealed or adopted.
    ``retain_until``: write-once retention of new segments (enforced by Object Lock only).
    """
    if segment_size < 1:
        raise ValueError(f"segment size must be at least 1, not {segment_size}")
    manifest = archive.load_manifest()
    head = store.head()
    check_tip(store, archive, manifest, head)
    _check_store_identity(store, manifest)
    present = archive.segment_keys()
    report = SealReport(archive.archive_id, head, manifest.sealed_to, retain_until=retain_until)

    def record(entry: SegmentEntry) -> None:
        manifest.segments.append(entry)
        archive.save_manifest(manifest)
        store.record_sealed(archive.archive_id, manifest.sealed_to)  # after: never ahead of it
        report.sealed_to = manifest.sealed_to
        if on_progress is not None:
            on_progress(entry.header.count)

    while keys := present.pop(manifest.sealed_to + 1, []):
        entry = _adopt_orphan(store, archive, manifest, keys)
        report.adopted.append(entry)
        record(entry)
    for records in _prefetched(store, _plan(manifest.sealed_to, head, segment_size, final)):
        entry = _write_segment(store, archive, manifest, records, retain_until)
        report.written.append(entry)
        record(entry)
    return report


def _check_store_identity(store: EventStore, manifest: Manifest) -> None:
    """An archive holds one store's log: record that store's identity, refuse any other."""
    if manifest.store_id is None:
        manifest.store_id = store.identity  # saved with the next segment
    elif manifest.store_id != store.identity:
        raise ArchiveError(
            f"archive {manifest.archive_id!r} holds the log of event store {manifest.store_id}, "
            f"not of this store ({store.identity}): wrong store or archive id?"
        )


def _plan(sealed_to: int, head: int, segment_size: int, final: bool) -> list[tuple[int, int]]:
    """(after, count) of each segment to seal: full ones, then the short tail if ``final``."""
    plan = [
        (after, segment_size) for after in range(sealed_to, head - segment_size + 1, segment_size)
    ]
    tail_after = sealed_to + len(plan) * segment_size
    if final and head > tail_after:
        plan.append((tail_after, head - tail_after))
    return plan


def _prefetched(store: EventStore, plan: list[tuple[int, int]]) -> Iterator[list[Notification]]:
    """Read segment k+1 in a thread while segment k is encoded, compressed and written."""
    if not plan:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lh-seal-read") as pool:
        future = pool.submit(_read, store, *plan[0])
        for after, count in plan[1:]:
            records = future.result()
            future = pool.submit(_read, store, after, count)
            yield records
        yield future.result()


def check_tip(store: EventStore, archive: Archive, manifest: Manifest, head: int) -> None:
    """The last sealed segment must verify and match the store: same log, intact tip."""
    if not manifest.segments:
        return
    if head < manifest.sealed_to:
        raise ArchiveError(
            f"event store {store.url or ''} ends at position {head} but archive "
            f"{archive.archive_id!r} is sealed to {manifest.sealed_to}: wrong store or archive id?"
        )
    tip = manifest.segments[-1]
    comparison = compare_with_store(archive.read_segment(tip), store)
    if comparison.first_difference is not None:
        raise ArchiveError(
            f"segment {tip.key} differs from the event store at position "
            f"{comparison.first_difference}: this archive belongs to another log, or the log "
            "was altered after sealing"
        )


def _read(store: EventStore, after: int, count: int) -> list[Notification]:
    records: list[Notification] = []
    for page in store.read_live_notifications(after, stop=after + count, batch_size=count):
        records.extend(page)
    if len(records) != count or records[0].id != after + 1:
        found = records[0].id if records else None
        raise ArchiveError(
            f"event store positions {after + 1}-{after + count} are not contiguous "
            f"(found {len(records)} records, first at {found}); refusing to seal a gap"
        )
    return records


def _write_segment(
    store: EventStore,
    archive: Archive,
    manifest: Manifest,
    records: list[Notification],
    retain_until: datetime | None,
) -> SegmentEntry:
    live = live_hashes(store, manifest, records)  # before writing: refuse an altered log
    header, data = build_segment(archive.archive_id, records, manifest.last_hash)
    key = archive.segment_key(header.first, header.last)
    try:
        archive.objects.put_once(key, data, retain_until=retain_until)
    except ObjectExistsError:
        raise ArchiveError(
            f"segment {key} appeared while sealing; is another sealer running?"
        ) from None
    return SegmentEntry(key, header, len(data), *live)


def _adopt_orphan(
    store: EventStore, archive: Archive, manifest: Manifest, keys: list[str]
) -> SegmentEntry:
    """Adopt the segment an interrupted seal left, or refuse loudly if it is not ours."""
    if len(keys) != 1:
        raise ArchiveError(
            f"several segment objects start at position {manifest.sealed_to + 1} "
            f"outside the manifest: {', '.join(keys)}; inspect and remove by hand"
        )
    key = keys[0]
    data = archive.objects.get(key)
    header, frame = parse_header(data, key)
    records = check_body(key, header, decompress(frame, header, key))
    expected_chain = chain_hash(
        manifest.last_hash, header.first, header.last, header.count, header.content_sha256
    )
    comparison = compare_with_store(records, store)
    if (
        header.archive_id == archive.archive_id
        and header.prev_hash == manifest.last_hash
        and header.chain_hash == expected_chain
        and key == archive.segment_key(header.first, header.last)
        and comparison.compared == header.count
        and comparison.first_difference is None
    ):
        return SegmentEntry(key, header, len(data), *live_hashes(store, manifest, records))
    raise ArchiveError(
        f"segment {key} (positions {header.first}-{header.last}) is not in the manifest and "
        "does not continue the chain with the event store's records; it was not written by "
        "this log's sealer. Inspect it and remove it by hand; it is never overwritten"
    )
