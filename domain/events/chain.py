"""The live log's hash chain: what an event hash covers and how the chain links positions.

The payload hash covers only the payload; the envelope (event id, times, actor, causation and
correlation ids, schema version) and the record's place (stream id, version, event type) are
covered here. An event hash is SHA-256 over the whole stored record, behind a fixed-size
header that gives each variable field's length, so no two records share an encoding:

    event_hash = SHA-256("LH-EVENT-1" || u32 len(stream) || u32 len(type) || u32 len(state)
                         || u64 version || stream || type || state)

and the chain runs over the global order, so deleting, inserting, duplicating or reordering
any event changes every later chain hash:

    chain[0] = GENESIS = SHA-256("LH-CHAIN-GENESIS-1")
    chain[n] = SHA-256(chain[n-1] || u64 n || event_hash[n])

Integers are big-endian. The stored event bytes (``state``) are never changed, so backtests
stay byte-identical; an auditor can recompute all of this with the standard library alone.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

GENESIS = hashlib.sha256(b"LH-CHAIN-GENESIS-1").digest()
"""The chain hash "before" position 1."""

HASH_SIZE = 32
_HEADER = struct.Struct(">10sIIIQ").pack
_EVENT_TAG = b"LH-EVENT-1"
_U64 = struct.Struct(">Q").pack
_sha256 = hashlib.sha256


def event_hash(stream_id: str, stream_version: int, event_type: str, state: bytes) -> bytes:
    """SHA-256 of one whole stored record (see the module docstring for the layout)."""
    stream = stream_id.encode()
    topic = event_type.encode()
    header = _HEADER(_EVENT_TAG, len(stream), len(topic), len(state), stream_version)
    return _sha256(header + stream + topic + state).digest()


def stored_bytes(state: bytes | str) -> bytes:
    """A record's state as bytes: a row edited by hand in SQLite (``json_set``) reads back as
    TEXT, which must hash (and fail its link), not crash the check."""
    return state if isinstance(state, bytes) else str(state).encode()


def link(previous: bytes, position: int, hashed_event: bytes) -> bytes:
    """The chain hash at ``position`` from its predecessor's and the event's hash."""
    return _sha256(previous + _U64(position) + hashed_event).digest()


Record = tuple[str, int, str, bytes]
"""(stream id, stream version, event type, stored state bytes)."""


def extend(previous: bytes, first_position: int, records: Iterable[Record]) -> list[bytes]:
    """Chain hashes for consecutive positions from ``first_position``, given the chain hash
    at ``first_position - 1``. ``event_hash`` and ``link`` inlined: this runs on every append."""
    hashes: list[bytes] = []
    append = hashes.append
    position = first_position
    for stream_id, version, event_type, state in records:
        stream = stream_id.encode()
        topic = event_type.encode()
        header = _HEADER(_EVENT_TAG, len(stream), len(topic), len(state), version)
        hashed = _sha256(header + stream + topic + state).digest()
        previous = _sha256(previous + _U64(position) + hashed).digest()
        append(previous)
        position += 1
    return hashes
