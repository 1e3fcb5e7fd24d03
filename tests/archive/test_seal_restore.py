"""Seal, verify and restore round trips on SQLite + local directory and Redis + S3 (moto)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from adapters.objectstore import LocalObjectStore
from adapters.objectstore.s3 import S3ObjectStore
from infra.archive import (
    GENESIS_HASH,
    Archive,
    ArchiveError,
    ArchiveReader,
    RestoreError,
    archive_status,
    restore,
    seal,
    trim,
    verify,
)
from infra.archive.segment import build_segment, decode_records, decompress, parse_header
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.archive.conftest import Feed, all_records


def test_sqlite_local_round_trip(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    head = Feed(sqlite_store).append_until(2_000)
    report = seal(sqlite_store, local_archive, segment_size=500)
    assert report.sealed_to == head - head % 500
    assert [(entry.first, entry.last) for entry in report.written] == [
        (first, first + 499) for first in range(1, report.sealed_to, 500)
    ]
    assert report.written[0].header.prev_hash == GENESIS_HASH
    assert (
        report.written[0].key == "archive/lh/segments/"
        "00000000000000000001-00000000000000000500.seg.zst"
    )

    checked = verify(local_archive, store=sqlite_store)
    assert checked.ok, checked.problems
    assert (checked.events, checked.compared) == (report.sealed_to, report.sealed_to)

    status = archive_status(sqlite_store, local_archive)
    assert (status.sealed_to, status.head, status.unsealed) == (
        report.sealed_to,
        head,
        head - report.sealed_to,
    )
    assert status.last_hash == report.written[-1].header.chain_hash

    target = open_event_store(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    restored = restore(local_archive, target, tail=sqlite_store, batch_size=700)
    assert (restored.archived, restored.tail, restored.last_position) == (
        report.sealed_to,
        head - report.sealed_to,
        head,
    )
    assert all_records(target) == all_records(sqlite_store)
    target.close()


def test_segments_hold_the_records_byte_for_byte(
    sqlite_store: EventStore, local_archive: Archive
) -> None:
    Feed(sqlite_store).append_until(600)
    entry = seal(sqlite_store, local_archive, segment_size=250).written[1]
    header, frame = parse_header(local_archive.objects.get(entry.key), entry.key)
    records = decode_records(decompress(frame, header, entry.key))
    original = all_records(sqlite_store)[250:500]
    assert records == original
    assert build_segment("lh", original, entry.header.prev_hash)[0] == header


@pytest.mark.services
def test_redis_s3_round_trip_with_trim(
    redis_store: EventStore, s3_archive: Archive, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    head = Feed(redis_store).append_until(1_500)
    original = all_records(redis_store)
    report = seal(redis_store, s3_archive, segment_size=400)
    assert report.sealed_to == 1_200
    assert verify(s3_archive, store=redis_store).ok

    # Redis may now drop what is sealed; the reader still serves the whole log.
    trimmed = trim(redis_store, s3_archive)
    assert (trimmed.below, trimmed.removed) == (1_201, 1_200)
    assert redis_store.recorder.first_position() == 1_201  # type: ignore[attr-defined]
    pages = list(ArchiveReader(s3_archive, redis_store, page_size=300).read_notifications(0))
    assert [record for page in pages for record in page] == original
    window = ArchiveReader(s3_archive, redis_store).read_notifications(1_150, stop=1_260)
    assert [record.id for page in window for record in page] == list(range(1_151, 1_261))
    assert verify(s3_archive, store=redis_store).ok

    # Losing Redis is recoverable: archive + the unsealed tail, into Redis and into SQLite.
    # (The target's keys start with redis_prefix, so the fixture deletes them afterwards.)
    target = open_event_store(redis_url, key_prefix=redis_prefix + "-restored")
    restored = restore(s3_archive, target, tail=redis_store)
    assert restored.last_position == head
    assert all_records(target) == original
    target.close()
    sqlite_target = open_event_store(f"sqlite:///{tmp_path / 'restored.sqlite'}")
    restore(s3_archive, sqlite_target, tail=redis_store)
    assert all_records(sqlite_target) == original
    sqlite_target.close()


def _fingerprints(archive: Archive) -> dict[str, object]:
    """Bytes plus the storage's own identity of each segment (inode+mtime, or S3 ETag)."""
    objects = archive.objects
    prints: dict[str, object] = {}
    for keys in archive.segment_keys().values():
        for key in keys:
            if isinstance(objects, LocalObjectStore):
                stat = os.stat(objects.root / key)
                identity: object = (stat.st_ino, stat.st_mtime_ns)
            else:
                assert isinstance(objects, S3ObjectStore)
                found = objects.client.stat_object(objects.bucket, objects.object_name(key))
                identity = (found.etag, found.last_modified)
            prints[key] = (objects.get(key), identity)
    return prints


@pytest.mark.parametrize("where", ["local", pytest.param("s3", marks=pytest.mark.services)])
def test_sealing_is_idempotent_resumable_and_never_rewrites(
    sqlite_store: EventStore, where: str, request: pytest.FixtureRequest
) -> None:
    archive: Archive = request.getfixturevalue(f"{where}_archive")
    feed = Feed(sqlite_store)
    feed.append_until(700)
    first = seal(sqlite_store, archive, segment_size=300)
    assert first.sealed_to == 600
    before = _fingerprints(archive)
    again = seal(sqlite_store, archive, segment_size=300)
    assert (again.events, again.sealed_to) == (0, 600)

    head = feed.append_until(1_300)
    resumed = seal(sqlite_store, archive, segment_size=300)
    assert resumed.written[0].first == 601
    assert resumed.written[0].header.prev_hash == first.written[-1].header.chain_hash
    after = _fingerprints(archive)
    assert {key: after[key] for key in before} == before

    final = seal(sqlite_store, archive, segment_size=300, final=True)
    assert [(entry.first, entry.last) for entry in final.written] == [(resumed.sealed_to + 1, head)]
    feed.append_until(head + 400)
    later = seal(sqlite_store, archive, segment_size=300)
    assert later.written[0].first == head + 1
    assert verify(archive, store=sqlite_store).ok


def test_restore_refuses_a_non_empty_target(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    Feed(sqlite_store).append_until(300)
    seal(sqlite_store, local_archive, segment_size=100)
    other = open_event_store(f"sqlite:///{tmp_path / 'other.sqlite'}")
    Feed(other).append_until(1)
    with pytest.raises(RestoreError, match="is not empty"):
        restore(local_archive, other)
    other.close()


def test_restore_refuses_a_tail_from_another_log(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    Feed(sqlite_store).append_until(500)
    seal(sqlite_store, local_archive, segment_size=200)
    stranger = open_event_store(f"sqlite:///{tmp_path / 'stranger.sqlite'}")
    Feed(stranger).append_until(600)  # the same events, recorded at other times
    target = open_event_store(f"sqlite:///{tmp_path / 'target.sqlite'}")
    with pytest.raises(ArchiveError, match="differs from the event store"):
        restore(local_archive, target, tail=stranger)
    assert target.head() == 0
    stranger.close()
    target.close()


def test_sealing_another_log_into_an_archive_is_refused(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    Feed(sqlite_store).append_until(300)
    seal(sqlite_store, local_archive, segment_size=100)
    stranger = open_event_store(f"sqlite:///{tmp_path / 'stranger.sqlite'}")
    Feed(stranger).append_until(600)
    with pytest.raises(ArchiveError, match="belongs to another log"):
        seal(stranger, local_archive, segment_size=100)
    empty = open_event_store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(ArchiveError, match="wrong store or archive id"):
        seal(empty, local_archive, segment_size=100)
    stranger.close()
    empty.close()


def test_a_position_gap_in_the_store_is_never_sealed(
    sqlite_store: EventStore, local_archive: Archive, tmp_path: Path
) -> None:
    Feed(sqlite_store).append_until(500)
    with sqlite3.connect(tmp_path / "events.sqlite") as connection:
        connection.execute("DELETE FROM stored_events WHERE rowid = 250")
    with pytest.raises(ArchiveError, match="positions 201-300 are not contiguous"):
        seal(sqlite_store, local_archive, segment_size=100)
    assert local_archive.load_manifest().sealed_to == 200
