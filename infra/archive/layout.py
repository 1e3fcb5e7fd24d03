"""Where an archive lives in the object store, and its manifest (the ordered list of segments).

Keys: ``archive/<archive-id>/segments/<first:020d>-<last:020d>.seg.zst`` and
``archive/<archive-id>/manifest.json``. Segments are written once and never rewritten
(``put_once``, retained by S3 Object Lock where the bucket has it); the manifest is the only
object that changes, and it is rewritten after each new segment.

The manifest stays mutable on purpose: it is an index that could be rebuilt from the
segments (each names its positions and its predecessor's hash), and what it adds, each
segment's live chain hashes, is checked against the segments' own records, the event store's
record of how far it was sealed, and the anchors. Create-only manifest versions would lock
the index, not the records: the segments and anchors are what retention must keep.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from eventsourcing.persistence import Notification

from adapters.objectstore.base import ObjectNotFoundError, ObjectStore
from infra.archive.errors import ArchiveCorruptError
from infra.archive.segment import (
    GENESIS_HASH,
    SegmentHeader,
    decode_records,
    decompress,
    parse_header,
)

MANIFEST_FORMAT = "lh-archive/1"
_ARCHIVE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_SEGMENT_NAME = re.compile(r"(\d{20})-(\d{20})\.seg\.zst$")


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    """One manifest line: the segment's header fields plus its key and compressed size.

    ``live_prev`` and ``live_chain`` are the live log's chain hashes (``domain/events/chain``,
    hex) at ``first - 1`` and ``last``, recorded while sealing, so one chain runs from the
    first archived event into the live log. They live in the manifest only (segment objects
    and their format are unchanged); entries sealed before them hold ``None``."""

    key: str
    header: SegmentHeader
    size: int
    live_prev: str | None = None
    live_chain: str | None = None

    @property
    def first(self) -> int:
        return self.header.first

    @property
    def last(self) -> int:
        return self.header.last

    def as_dict(self) -> dict[str, Any]:
        fields = {"key": self.key, "size": self.size, **self.header.as_dict()}
        if self.live_chain is not None:
            fields |= {"live_prev": self.live_prev, "live_chain": self.live_chain}
        return fields


@dataclass
class Manifest:
    archive_id: str
    segments: list[SegmentEntry] = field(default_factory=list)
    store_id: str | None = None
    """The identity of the event store sealed into this archive (``None`` in older archives);
    a restore gives it to the store it rebuilds, so read models built from the log still fit."""

    @property
    def sealed_to(self) -> int:
        """The last sealed position (0 when nothing is sealed)."""
        return self.segments[-1].last if self.segments else 0

    @property
    def last_hash(self) -> str:
        return self.segments[-1].header.chain_hash if self.segments else GENESIS_HASH

    @property
    def events(self) -> int:
        return sum(entry.header.count for entry in self.segments)


class Archive:
    """One log's archive in an object store: key layout, manifest I/O and segment reads."""

    def __init__(self, objects: ObjectStore, archive_id: str) -> None:
        if not _ARCHIVE_ID.match(archive_id):
            raise ValueError(
                f"archive id {archive_id!r}: use letters, digits, '.', '_' or '-' (max 100)"
            )
        self.objects = objects
        self.archive_id = archive_id
        self.prefix = f"archive/{archive_id}/"
        self.manifest_key = self.prefix + "manifest.json"

    def segment_key(self, first: int, last: int) -> str:
        return f"{self.prefix}segments/{first:020d}-{last:020d}.seg.zst"

    def segment_keys(self) -> dict[int, list[str]]:
        """Every segment object present, grouped by first position (manifest or not)."""
        found: dict[int, list[str]] = {}
        for key in self.objects.list(self.prefix + "segments/"):
            match = _SEGMENT_NAME.search(key)
            if match:
                found.setdefault(int(match.group(1)), []).append(key)
        return found

    def load_manifest(self) -> Manifest:
        """The manifest, or an empty one if none was written yet."""
        try:
            data = self.objects.get(self.manifest_key)
        except ObjectNotFoundError:
            return Manifest(self.archive_id)
        try:
            fields = json.loads(data)
            if fields["format"] != MANIFEST_FORMAT or fields["archive_id"] != self.archive_id:
                raise ValueError("format or archive id does not match")
            segments = [
                SegmentEntry(
                    key=item.pop("key"),
                    size=item.pop("size"),
                    live_prev=item.pop("live_prev", None),
                    live_chain=item.pop("live_chain", None),
                    header=SegmentHeader(**item),
                )
                for item in fields["segments"]
            ]
        except (ValueError, TypeError, KeyError) as error:
            raise ArchiveCorruptError(
                f"manifest {self.manifest_key} is unreadable ({error})", key=self.manifest_key
            ) from None
        store_id = fields.get("store_id")
        return Manifest(self.archive_id, segments, str(store_id) if store_id else None)

    def save_manifest(self, manifest: Manifest) -> None:
        fields = {
            "format": MANIFEST_FORMAT,
            "archive_id": manifest.archive_id,
            "sealed_to": manifest.sealed_to,
            "last_hash": manifest.last_hash,
            "segments": [entry.as_dict() for entry in manifest.segments],
        }
        if manifest.store_id is not None:
            fields["store_id"] = manifest.store_id
        data = json.dumps(fields, sort_keys=True, indent=1).encode()
        self.objects.put(self.manifest_key, data, "application/json")

    def read_segment(self, entry: SegmentEntry) -> list[Notification]:
        """The records of a manifest entry, after checking header, size and content hash."""
        try:
            data = self.objects.get(entry.key)
        except ObjectNotFoundError:
            raise ArchiveCorruptError(
                f"segment {entry.key} (positions {entry.first}-{entry.last}) is missing",
                key=entry.key,
                first=entry.first,
                last=entry.last,
            ) from None
        header, frame = parse_header(data, entry.key)
        if header != entry.header or len(data) != entry.size:
            raise ArchiveCorruptError(
                f"segment {entry.key}: {object_mismatch(data, header, entry)}",
                key=entry.key,
                first=entry.first,
                last=entry.last,
            )
        return check_body(entry.key, header, decompress(frame, header, entry.key))


def object_mismatch(data: bytes, found: SegmentHeader, entry: SegmentEntry) -> str:
    """How a segment object differs from its manifest entry: header fields, or its size."""
    if found != entry.header:
        return header_mismatch(found, entry.header)
    return f"object is {len(data)} bytes, the manifest says {entry.size} (truncated or extended)"


def header_mismatch(found: SegmentHeader, expected: SegmentHeader) -> str:
    """Which header fields of a segment object differ from its manifest entry."""
    names = [
        item.name
        for item in fields(SegmentHeader)
        if getattr(found, item.name) != getattr(expected, item.name)
    ]
    details = ", ".join(
        f"{name} {str(getattr(found, name))[:16]} (manifest: {str(getattr(expected, name))[:16]})"
        for name in names
    )
    return f"header disagrees with the manifest: {details}"


def check_body(key: str, header: SegmentHeader, body: bytes) -> list[Notification]:
    """Decode a body and prove it is what the header promises (hash, count, positions)."""
    if hashlib.sha256(body).hexdigest() != header.content_sha256:
        raise ArchiveCorruptError(
            f"segment {key} (positions {header.first}-{header.last}): content hash mismatch",
            key=key,
            first=header.first,
            last=header.last,
        )
    try:
        records = decode_records(body)
    except ArchiveCorruptError as error:
        raise ArchiveCorruptError(
            f"segment {key} (positions {header.first}-{header.last}): {error}",
            key=key,
            first=header.first,
            last=header.last,
        ) from None
    expected = list(range(header.first, header.last + 1))
    if len(records) != header.count or [record.id for record in records] != expected:
        raise ArchiveCorruptError(
            f"segment {key}: holds {len(records)} records, header promises {header.count} "
            f"at positions {header.first}-{header.last}",
            key=key,
            first=header.first,
            last=header.last,
        )
    return records
