"""Tampering with the archive is detected, named, and stops restore before it writes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from infra.archive import Archive, ArchiveCorruptError, Manifest, restore, seal, verify
from infra.archive.segment import decompress, parse_header
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.archive.conftest import Feed

SEGMENT = 200


@pytest.fixture
def sealed(sqlite_store: EventStore, local_archive: Archive) -> Manifest:
    Feed(sqlite_store).append_until(1_000)
    seal(sqlite_store, local_archive, segment_size=SEGMENT)
    manifest = local_archive.load_manifest()
    assert len(manifest.segments) >= 4
    return manifest


def _flip_byte(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    key = manifest.segments[1].key
    data = bytearray(archive.objects.get(key))
    data[len(data) // 2] ^= 0x40
    archive.objects.put(key, bytes(data))
    return key, None


def _delete(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    key = manifest.segments[2].key
    archive.objects.delete(key)
    return key, manifest.segments[2].first


def _swap(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    one, two = manifest.segments[1].key, manifest.segments[2].key
    first, second = archive.objects.get(one), archive.objects.get(two)
    archive.objects.put(one, second)
    archive.objects.put(two, first)
    return one, None


def _replace(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    """Same header, validly compressed body, one fill price changed by a cent."""
    entry = manifest.segments[1]
    data = archive.objects.get(entry.key)
    header, frame = parse_header(data, entry.key)
    body = decompress(frame, header, entry.key)
    marker = b'"price":"'
    at = body.index(marker, len(body) // 2) + len(marker)
    digit = body[at : at + 1]
    forged = body[:at] + (b"1" if digit != b"1" else b"2") + body[at + 1 :]
    line = data[: data.index(b"\n") + 1]
    archive.objects.put(entry.key, line + zstandard.ZstdCompressor().compress(forged))
    position = entry.first + sum(1 for _ in _positions_before(body, at))
    return entry.key, position


def _positions_before(body: bytes, offset: int) -> list[int]:
    """Record starts before ``offset`` (to know which record a forged byte falls in)."""
    import struct

    starts, cursor = [], 0
    while cursor <= offset:
        _, _, a, b, c = struct.unpack_from(">qqIII", body, cursor)
        starts.append(cursor)
        cursor += 28 + a + b + c
    return starts[:-1]


def _truncate(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    key = manifest.segments[3].key
    data = archive.objects.get(key)
    archive.objects.put(key, data[: len(data) * 2 // 3])
    return key, None


def _reorder_manifest(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    manifest.segments[1], manifest.segments[2] = manifest.segments[2], manifest.segments[1]
    archive.save_manifest(manifest)
    return manifest.segments[1].key, manifest.segments[2].first


def _drop_from_manifest(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    gone = manifest.segments.pop(1)
    archive.objects.delete(gone.key)
    archive.save_manifest(manifest)
    return manifest.segments[1].key, gone.first


def _manifest_disagrees(archive: Archive, manifest: Manifest) -> tuple[str, int | None]:
    raw = json.loads(archive.objects.get(archive.manifest_key))
    raw["segments"][2]["content_sha256"] = "f" * 64
    archive.objects.put(archive.manifest_key, json.dumps(raw).encode())
    return manifest.segments[2].key, None


TAMPERS: dict[str, Callable[[Archive, Manifest], tuple[str, int | None]]] = {
    "flipped byte": _flip_byte,
    "deleted segment": _delete,
    "swapped segments": _swap,
    "replaced segment": _replace,
    "truncated segment": _truncate,
    "reordered manifest": _reorder_manifest,
    "segment dropped from manifest": _drop_from_manifest,
    "manifest disagrees with segment": _manifest_disagrees,
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
def test_tampering_is_named_and_restore_writes_nothing(
    tamper: Callable[[Archive, Manifest], tuple[str, int | None]],
    sealed: Manifest,
    local_archive: Archive,
    sqlite_store: EventStore,
    tmp_path: Path,
) -> None:
    key, position = tamper(local_archive, sealed)
    report = verify(local_archive)
    assert not report.ok
    named = [problem for problem in report.problems if problem.key == key]
    assert named, report.problems
    problem = named[0]
    assert problem.first is not None and problem.last is not None
    assert str(problem.first) in str(problem)
    if position is not None:
        assert problem.position == position, problem
    elif problem.position is not None:
        assert problem.first <= problem.position <= problem.last + 1

    target = open_event_store(f"sqlite:///{tmp_path / 'target.sqlite'}")
    with pytest.raises(ArchiveCorruptError, match="nothing was written") as error:
        restore(local_archive, target, tail=sqlite_store)
    assert key in str(error.value)
    assert target.head() == 0
    target.close()


def test_verify_against_store_names_the_altered_position(
    sealed: Manifest, local_archive: Archive, sqlite_store: EventStore, tmp_path: Path
) -> None:
    assert verify(local_archive, store=sqlite_store).ok
    path = tmp_path / "events.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE stored_events SET state = CAST(state || ' ' AS BLOB) WHERE rowid = 321"
        )
    assert verify(local_archive).ok  # the archive itself is intact
    report = verify(local_archive, store=sqlite_store)
    assert [(p.key, p.position) for p in report.problems] == [(sealed.segments[1].key, 321)]


def test_verify_against_store_names_an_event_the_store_lost(
    sealed: Manifest, local_archive: Archive, sqlite_store: EventStore, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "events.sqlite") as connection:
        connection.execute("DELETE FROM stored_events WHERE rowid = 640")
    report = verify(local_archive, store=sqlite_store)
    assert [(p.key, p.position) for p in report.problems] == [(sealed.segments[3].key, 640)]
