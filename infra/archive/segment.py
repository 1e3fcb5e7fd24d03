"""The segment format: how a contiguous run of log records becomes one immutable object.

Body (the hashed, canonical contents): for each record, in position order, a 28-byte big-endian
header ``position:i64 originator_version:i64 len(originator_id):u32 len(topic):u32
len(state):u32`` followed by the UTF-8 originator id, the UTF-8 topic and the raw state bytes.
Nothing is re-serialized, so a restore reproduces every record byte for byte.

Object: one line of canonical JSON (the header: positions, count, hashes) then a zstd frame of
the body with a content checksum. ``content_sha256`` is over the uncompressed body;
``chain_hash`` binds it to the previous segment's chain hash and to its position range.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import zstandard
from eventsourcing.persistence import Notification

from infra.archive.errors import ArchiveCorruptError

SEGMENT_FORMAT = "lh-archive-segment/1"
GENESIS_HASH = "0" * 64
ZSTD_LEVEL = 1
_RECORD = struct.Struct(">qqIII")


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    """What a segment says about itself; the manifest holds the same fields plus its key."""

    archive_id: str
    first: int
    last: int
    count: int
    content_sha256: str
    prev_hash: str
    chain_hash: str
    raw_size: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chain_hash(prev_hash: str, first: int, last: int, count: int, content_sha256: str) -> str:
    """The link of the hash chain: covers the previous link, the range and the contents."""
    text = f"lh-archive-chain/1\n{prev_hash}\n{first}\n{last}\n{count}\n{content_sha256}"
    return hashlib.sha256(text.encode()).hexdigest()


def encode_records(records: Sequence[Notification], expected_first: int) -> bytes:
    """The canonical body; raises if positions are not exactly ``expected_first, +1, ...``."""
    pack = _RECORD.pack
    parts: list[bytes] = []
    append = parts.append
    position = expected_first
    for record in records:
        if record.id != position:
            raise ArchiveCorruptError(
                f"position gap in the event store: expected {position}, found {record.id}",
                first=expected_first,
                position=position,
            )
        originator = str(record.originator_id).encode()
        topic = record.topic.encode()
        state = record.state
        append(pack(position, record.originator_version, len(originator), len(topic), len(state)))
        append(originator)
        append(topic)
        append(state)
        position += 1
    return b"".join(parts)


def decode_records(body: bytes, *, strict: bool = True) -> list[Notification]:
    """Records of a body; with ``strict=False`` a damaged tail is dropped instead of raising."""
    records: list[Notification] = []
    offset, size, unpack = 0, len(body), _RECORD.unpack_from
    header = _RECORD.size
    while offset < size:
        try:
            position, version, id_len, topic_len, state_len = unpack(body, offset)
            start = offset + header
            end = start + id_len + topic_len + state_len
            if end > size:
                raise ValueError("record runs past the end of the segment")
            originator = body[start : start + id_len].decode()
            topic = body[start + id_len : start + id_len + topic_len].decode()
        except (struct.error, ValueError) as error:
            if not strict:
                return records
            raise ArchiveCorruptError(f"record at byte {offset} does not decode: {error}") from None
        state = body[start + id_len + topic_len : end]
        records.append(
            Notification(
                id=position,
                originator_id=originator,
                originator_version=version,
                topic=topic,
                state=state,
            )
        )
        offset = end
    return records


def build_segment(
    archive_id: str, records: Sequence[Notification], prev_hash: str
) -> tuple[SegmentHeader, bytes]:
    """Header and object bytes for ``records`` (non-empty, contiguous positions)."""
    first = records[0].id
    body = encode_records(records, first)
    content = hashlib.sha256(body).hexdigest()
    last = first + len(records) - 1
    header = SegmentHeader(
        archive_id=archive_id,
        first=first,
        last=last,
        count=len(records),
        content_sha256=content,
        prev_hash=prev_hash,
        chain_hash=chain_hash(prev_hash, first, last, len(records), content),
        raw_size=len(body),
    )
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
    return header, _header_line(header) + compressor.compress(body)


def _header_line(header: SegmentHeader) -> bytes:
    fields = {"format": SEGMENT_FORMAT, **header.as_dict()}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def parse_header(data: bytes, key: str) -> tuple[SegmentHeader, bytes]:
    """The header and the still-compressed frame of a segment object."""
    line, newline, frame = data.partition(b"\n")
    try:
        if not newline:
            raise ValueError("no header line")
        fields = json.loads(line)
        if fields.pop("format") != SEGMENT_FORMAT:
            raise ValueError("unknown segment format")
        header = SegmentHeader(**fields)
    except (ValueError, TypeError, KeyError) as error:
        raise ArchiveCorruptError(f"segment {key}: header unreadable ({error})", key=key) from None
    return header, frame


def decompress(frame: bytes, header: SegmentHeader, key: str) -> bytes:
    """The body of a segment; raises naming the key when the frame is truncated or damaged."""
    try:
        body = zstandard.ZstdDecompressor().decompressobj().decompress(frame)
    except zstandard.ZstdError as error:
        raise _damaged(header, key, f"compressed data is damaged ({error})") from None
    if len(body) != header.raw_size:
        raise _damaged(header, key, f"truncated: {len(body)} of {header.raw_size} bytes")
    return body


def salvage(frame: bytes) -> bytes:
    """As much of the body as decompresses before the damage (to locate the first bad record)."""
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    out: list[bytes] = []
    for offset in range(0, len(frame), 4096):
        try:
            out.append(decompressor.decompress(frame[offset : offset + 4096]))
        except zstandard.ZstdError:
            break
    return b"".join(out)


def _damaged(header: SegmentHeader, key: str, what: str) -> ArchiveCorruptError:
    return ArchiveCorruptError(
        f"segment {key} (positions {header.first}-{header.last}): {what}",
        key=key,
        first=header.first,
        last=header.last,
    )
