"""Restore: rebuild an empty event store from the archive plus the unsealed tail of another.

The archive is verified in full before anything is written; the target must be empty; records
are inserted in position order and the target must assign exactly the archived positions.
The target takes the identity of the store the archive was sealed from (or, for an archive
older than store identities, of the tail store): it holds the same log, so the read models
built from that store carry on against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, zip_longest

from eventsourcing.persistence import Notification, StoredEvent

from infra.archive.compare import same_record, store_first_position
from infra.archive.errors import ArchiveCorruptError, RestoreError
from infra.archive.layout import Archive
from infra.archive.reader import ArchiveReader
from infra.archive.seal import check_tip
from infra.archive.verify import verify
from infra.eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class RestoreReport:
    archived: int
    tail: int
    last_position: int
    archive_hash: str


def restore(
    archive: Archive,
    target: EventStore,
    *,
    tail: EventStore | None = None,
    batch_size: int = 5_000,
    recheck: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> RestoreReport:
    """Write archive + tail into ``target``; ``recheck`` re-reads both and compares every byte."""
    report = verify(archive)
    if not report.ok:
        first = report.problems[0]
        raise ArchiveCorruptError(
            "archive fails verification, nothing was written:\n  "
            + "\n  ".join(str(problem) for problem in report.problems),
            key=first.key,
            first=first.first,
            last=first.last,
            position=first.position,
        )
    head = target.head()
    if head != 0:
        raise RestoreError(
            f"target {target.url} is not empty (head {head}); restore writes only "
            "into an empty event store"
        )
    if tail is not None:
        _check_tail(archive, tail, report.sealed_to)
    source = archive.load_manifest().store_id or (tail.identity if tail is not None else None)
    if source is not None:
        target.adopt_identity(source)
    last = 0
    for page in ArchiveReader(archive, tail).read_notifications(0):
        for offset in range(0, len(page), batch_size):
            batch = page[offset : offset + batch_size]
            _insert(target, batch)
            last = batch[-1].id
            if on_progress is not None:
                on_progress(len(batch))
    if recheck:
        _recheck(
            ArchiveReader(archive, tail).read_notifications(0, stop=last),
            target.read_notifications(0, batch_size=10_000),
        )
    return RestoreReport(
        report.events, last - report.sealed_to if last else 0, last, report.last_hash
    )


def _check_tail(archive: Archive, tail: EventStore, sealed_to: int) -> None:
    """The tail must be the same log (its copy of the last segment matches) and gapless."""
    tail_head = tail.head()
    check_tip(tail, archive, archive.load_manifest(), tail_head)
    if tail_head > sealed_to:
        first = store_first_position(tail)
        if first is None or first > sealed_to + 1:
            raise RestoreError(
                f"tail store {tail.url} starts at position {first}, but the archive ends at "
                f"{sealed_to}: the restored log would have a gap"
            )


def _insert(target: EventStore, batch: Sequence[Notification]) -> None:
    stored = [
        StoredEvent(record.originator_id, record.originator_version, record.topic, record.state)
        for record in batch
    ]
    positions = target.recorder.insert_events(stored)
    expected = [record.id for record in batch]
    if positions is None or list(positions) != expected:
        given = "none" if positions is None else f"{positions[0]}-{positions[-1]}"
        raise RestoreError(
            f"target {target.url} assigned positions {given} to records "
            f"{expected[0]}-{expected[-1]}; the restored log would not match the archive "
            "(the target now holds a partial restore: discard it)"
        )


def _records(pages: Iterable[Sequence[Notification]]) -> Iterator[Notification]:
    return chain.from_iterable(pages)


def _recheck(
    source: Iterable[Sequence[Notification]], restored: Iterable[Sequence[Notification]]
) -> None:
    for expected, actual in zip_longest(_records(source), _records(restored)):
        if expected is None or actual is None or not same_record(expected, actual):
            where = expected.id if expected is not None else actual.id
            raise RestoreError(f"restored store differs from the source at position {where}")
