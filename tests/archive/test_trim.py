"""Trimming Redis below the sealed position, only after re-checking against the archive."""

from __future__ import annotations

import pytest

from infra.archive import (
    Archive,
    ArchiveCorruptError,
    ArchiveReader,
    TrimNotSupportedError,
    seal,
    trim,
)
from infra.eventstore.errors import PositionTrimmedError
from infra.eventstore.store import EventStore
from tests.archive.conftest import Feed, all_records


def test_sqlite_store_is_not_trimmed(sqlite_store: EventStore, local_archive: Archive) -> None:
    Feed(sqlite_store).append_until(200)
    seal(sqlite_store, local_archive, segment_size=100)
    with pytest.raises(TrimNotSupportedError, match="Redis only"):
        trim(sqlite_store, local_archive)
    assert sqlite_store.head() >= 200
    assert all_records(sqlite_store)[0].id == 1


@pytest.mark.services
def test_trim_removes_only_sealed_events_and_repeats_safely(
    redis_store: EventStore, local_archive: Archive
) -> None:
    feed = Feed(redis_store)
    feed.append_until(500)
    assert trim(redis_store, local_archive).removed == 0  # nothing sealed yet
    original = all_records(redis_store)
    seal(redis_store, local_archive, segment_size=200)

    first = trim(redis_store, local_archive)
    assert (first.below, first.removed, first.checked) == (401, 400, 400)
    assert redis_store.recorder.first_position() == 401  # type: ignore[attr-defined]
    with pytest.raises(PositionTrimmedError):
        list(redis_store.read_notifications(0))
    assert trim(redis_store, local_archive).removed == 0

    feed.append_until(900)
    seal(redis_store, local_archive, segment_size=200)
    second = trim(redis_store, local_archive)
    assert (second.below, second.removed) == (801, 400)
    assert second.checked == 400  # only segments the store still held were compared
    everything = [
        r for page in ArchiveReader(local_archive, redis_store).read_notifications() for r in page
    ]
    assert everything[: len(original)] == original
    assert [r.id for r in everything] == list(range(1, redis_store.head() + 1))


@pytest.mark.services
def test_trim_refuses_when_the_archive_is_damaged(
    redis_store: EventStore, local_archive: Archive
) -> None:
    Feed(redis_store).append_until(450)
    seal(redis_store, local_archive, segment_size=200)
    last = local_archive.load_manifest().segments[-1]
    data = bytearray(local_archive.objects.get(last.key))
    data[-10] ^= 0x01
    local_archive.objects.put(last.key, bytes(data))
    with pytest.raises(ArchiveCorruptError, match=last.key):
        trim(redis_store, local_archive)
    assert redis_store.recorder.first_position() == 1  # type: ignore[attr-defined]
