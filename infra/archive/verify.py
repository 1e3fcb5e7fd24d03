"""Verification: recompute every hash and prove the archive is the unaltered, gapless log.

Checks, per manifest entry: deterministic key, contiguous positions, the chain link, the
object's presence, header agreement with the manifest, the compressed frame, the content hash,
record count and positions, the live chain hashes recorded at the segment ends (recomputed from
the records, each continuing the last), and (optionally) byte identity with the event store;
against the store also its chain hashes at the segment ends and its record of how far the
archive was sealed (``check_store_link``); and, where the object store keeps versions, that no
write-once object was replaced or deleted and the manifest only ever grew (``history``).
Every problem names the segment key and its position range, and the first bad position where
it can.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.objectstore.base import ObjectNotFoundError
from domain.events import chain
from domain.events.codec import payload_hash
from infra.archive.compare import compare_with_store
from infra.archive.errors import ArchiveCorruptError
from infra.archive.history import HistoryReport, check_history
from infra.archive.layout import (
    Archive,
    Manifest,
    SegmentEntry,
    check_body,
    header_mismatch,
    object_mismatch,
)
from infra.archive.livechain import recompute, stored_chain
from infra.archive.segment import (
    GENESIS_HASH,
    SegmentHeader,
    chain_hash,
    decode_records,
    decompress,
    parse_header,
    salvage,
)
from infra.eventstore.store import EventStore


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check. ``position`` is the first position not proven intact, when known."""

    key: str
    message: str
    first: int | None = None
    last: int | None = None
    position: int | None = None

    def __str__(self) -> str:
        where = f" (positions {self.first}-{self.last})" if self.first is not None else ""
        at = f"; first bad position {self.position}" if self.position is not None else ""
        return f"{self.key}{where}: {self.message}{at}"


@dataclass
class VerifyReport:
    """What was checked; ``orphans`` are segments of an interrupted seal (not a problem)."""

    archive_id: str
    segments: int = 0
    events: int = 0
    sealed_to: int = 0
    last_hash: str = GENESIS_HASH
    compared: int = 0
    problems: list[Problem] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    history: HistoryReport = field(default_factory=lambda: HistoryReport(kept=False))

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    archive: Archive,
    *,
    store: EventStore | None = None,
    linked: EventStore | None = None,
    on_segment: Callable[[SegmentEntry], None] | None = None,
) -> VerifyReport:
    """Check the whole archive; with ``store``, also compare records with the store's; with
    ``store`` or ``linked``, check the archive's link into that store's live log (cheap: the
    chain hashes at segment ends and the store's record of the seal)."""
    report = VerifyReport(archive.archive_id, history=check_history(archive))
    report.problems.extend(
        Problem(f.key, f.message, position=f.first) for f in report.history.findings or ()
    )
    present = {key for keys in archive.segment_keys().values() for key in keys}
    try:
        manifest = archive.load_manifest()
    except ArchiveCorruptError as error:
        report.problems.append(Problem(archive.manifest_key, str(error)))
        return report
    if not manifest.segments and present and not archive.objects.exists(archive.manifest_key):
        report.problems.append(Problem(archive.manifest_key, "manifest is missing"))
    report.problems.extend(check_links(archive, manifest))
    for entry in manifest.segments:
        problems, compared = _check_object(archive, entry, store)
        report.problems.extend(problems)
        report.compared += compared
        report.segments += 1
        report.events += entry.header.count
        if on_segment is not None:
            on_segment(entry)
    live = store or linked
    if live is not None:
        report.problems.extend(check_store_link(manifest, live))
    report.sealed_to, report.last_hash = manifest.sealed_to, manifest.last_hash
    _check_strays(archive, manifest, present, report)
    return report


def check_links(archive: Archive, manifest: Manifest) -> list[Problem]:
    """The manifest-only checks (no object reads): keys, contiguity, the archive's chain and
    the live chain hashes recorded at the segment boundaries (each continues the last)."""
    problems: list[Problem] = []
    expected_first, expected_prev = 1, GENESIS_HASH
    expected_live: str | None = chain.GENESIS.hex()
    for entry in manifest.segments:
        problems.extend(_check_links(archive, entry, expected_first, expected_prev))
        if None not in (expected_live, entry.live_prev) and entry.live_prev != expected_live:
            problems.append(
                _problem(
                    entry,
                    f"live chain broken: recorded {entry.live_prev} before position "
                    f"{entry.first}, the previous segment ends at {expected_live}",
                    entry.first,
                )
            )
        expected_first, expected_prev = entry.last + 1, entry.header.chain_hash
        expected_live = entry.live_chain
    return problems


def check_store_link(manifest: Manifest, store: EventStore) -> list[Problem]:
    """The archive against the store's own records: the live chain hash the store holds at
    each segment's last position equals the one sealed, so the chain continues from the
    archive into the live log; and the store's record of how far it was sealed is not past
    the manifest (segments deleted together with their manifest entries)."""
    problems: list[Problem] = []
    for entry in manifest.segments:
        held = None if entry.live_chain is None else stored_chain(store, entry.last)
        if held is not None and held.hex() != entry.live_chain:
            problems.append(
                _problem(
                    entry,
                    f"live chain hash at position {entry.last} is {entry.live_chain}, the "
                    f"event store holds {held.hex()}: the archive does not continue into the "
                    "live log",
                    entry.last,
                )
            )
    recorded = store.sealed_to(manifest.archive_id)
    if recorded > manifest.sealed_to:
        problems.append(
            Problem(
                f"archive/{manifest.archive_id}/manifest.json",
                f"the event store records the archive sealed to position {recorded}, the "
                f"manifest only to {manifest.sealed_to}: segments of positions "
                f"{manifest.sealed_to + 1}..{recorded} were deleted with their manifest "
                "entries; restore the archive from its backup",
                manifest.sealed_to + 1,
                recorded,
                manifest.sealed_to + 1,
            )
        )
    return problems


def _problem(entry: SegmentEntry, message: str, position: int | None = None) -> Problem:
    return Problem(entry.key, message, entry.first, entry.last, position)


def _check_links(
    archive: Archive, entry: SegmentEntry, expected_first: int, expected_prev: str
) -> list[Problem]:
    """What the manifest alone can prove: key, contiguity and the chain link."""
    header, problems = entry.header, []
    if header.archive_id != archive.archive_id:
        problems.append(_problem(entry, f"belongs to archive {header.archive_id!r}"))
    if entry.key != archive.segment_key(entry.first, entry.last):
        problems.append(_problem(entry, "key does not match the positions the manifest gives"))
    if entry.first != expected_first:
        problems.append(
            _problem(
                entry,
                f"expected a segment starting at position {expected_first} "
                "(segment missing, reordered or overlapping)",
                expected_first,
            )
        )
    if header.prev_hash != expected_prev:
        problems.append(
            _problem(
                entry,
                "chain broken: previous hash does not match the previous segment's chain hash",
            )
        )
    if header.last - header.first + 1 != header.count:
        problems.append(_problem(entry, f"count {header.count} does not fit the position range"))
    recomputed = chain_hash(
        header.prev_hash, header.first, header.last, header.count, header.content_sha256
    )
    if recomputed != header.chain_hash:
        problems.append(_problem(entry, "chain hash does not recompute"))
    return problems


def _check_object(
    archive: Archive, entry: SegmentEntry, store: EventStore | None
) -> tuple[list[Problem], int]:
    """Read the object and prove it is what the manifest says; compare with the store."""
    try:
        data = archive.objects.get(entry.key)
        header, frame = parse_header(data, entry.key)
    except ObjectNotFoundError:
        return [_problem(entry, "segment object is missing", entry.first)], 0
    except ArchiveCorruptError as error:
        return [_problem(entry, str(error), entry.first)], 0
    if header != entry.header:
        return [_problem(entry, header_mismatch(header, entry.header))], 0
    if len(data) != entry.size:
        position = first_bad(salvage(frame), header)
        return [_problem(entry, object_mismatch(data, header, entry), position)], 0
    try:
        body = decompress(frame, header, entry.key)
    except ArchiveCorruptError as error:
        return [_problem(entry, _reason(error), first_bad(salvage(frame), header))], 0
    try:
        records = check_body(entry.key, header, body)
    except ArchiveCorruptError as error:
        return [_problem(entry, _reason(error), _locate(body, header, store))], 0
    if entry.live_prev is not None and recompute(entry.live_prev, records) != entry.live_chain:
        return [_problem(entry, "live chain hash does not recompute from the records")], 0
    if store is None:
        return [], 0
    comparison = compare_with_store(records, store)
    if comparison.first_difference is not None:
        return [_problem(entry, "differs from the event store", comparison.first_difference)], (
            comparison.compared
        )
    return [], comparison.compared


def _reason(error: ArchiveCorruptError) -> str:
    """The error without its ``segment <key> (positions ..):`` prefix (the Problem adds it)."""
    message = str(error)
    return message.split(": ", 1)[1] if message.startswith("segment ") else message


def _locate(body: bytes, header: SegmentHeader, store: EventStore | None) -> int | None:
    position = first_bad(body, header)
    if position is None and store is not None:
        records = decode_records(body, strict=False)
        position = compare_with_store(records, store).first_difference if records else None
    return position


def first_bad(body: bytes, header: SegmentHeader) -> int | None:
    """The first position whose record is missing, out of place or fails its payload hash."""
    position = header.first
    for record in decode_records(body, strict=False):
        if record.id != position or not _payload_intact(record.state):
            return position
        position += 1
    if position <= header.last:
        return position
    return None


def _payload_intact(state: bytes) -> bool:
    try:
        fields = json.loads(state)
        return bool(payload_hash(fields["payload"]) == fields["payload_hash"])
    except (ValueError, KeyError, TypeError):
        return False


def _check_strays(
    archive: Archive, manifest: Manifest, present: set[str], report: VerifyReport
) -> None:
    listed = {entry.key for entry in manifest.segments}
    for key in sorted(present - listed):
        first = int(key.rsplit("/", 1)[-1].split("-", 1)[0])
        if first > manifest.sealed_to:
            report.orphans.append(key)
        else:
            report.problems.append(
                Problem(key, "segment object is not in the manifest but overlaps sealed positions")
            )
