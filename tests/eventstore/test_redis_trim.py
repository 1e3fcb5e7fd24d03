"""Trimming sealed events from Redis: what is removed, what is kept, and reads that must fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from eventsourcing.persistence import IntegrityError, StoredEvent

from infra.eventstore.factory import open_event_store
from infra.eventstore.redis import PositionTrimmedError
from infra.eventstore.redis import recorders as recorders_module
from infra.eventstore.redis import subscription as subscription_module
from infra.eventstore.store import EventStore
from tests.eventstore.events import venue_event
from tests.eventstore.redis_support import recorder_of


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[EventStore]:
    opened = open_event_store(redis_url, key_prefix=redis_prefix)
    # Positions 1..10: venue-a gets versions 1..5 at odd positions, venue-b 1..5 at even ones.
    for version in range(1, 6):
        opened.append([venue_event("venue-a", version), venue_event("venue-b", version)])
    yield opened
    opened.close()


def test_trim_removes_global_and_per_aggregate_copies_below_the_position(
    store: EventStore, redis_url: str
) -> None:
    recorder = recorder_of(store)
    assert recorder.first_position() == 1
    assert recorder.trim_below(6) == 5
    assert recorder.first_position() == 6
    assert store.head() == 10
    assert [event.position for event in store.read_all(after=5)] == [6, 7, 8, 9, 10]

    client = redis.Redis.from_url(redis_url)
    # venue-a lost versions 1..3 (positions 1, 3, 5), venue-b versions 1..2 (positions 2, 4).
    assert client.xlen(recorder.keys.aggregate("venue-a")) == 2
    assert client.xlen(recorder.keys.aggregate("venue-b")) == 3
    assert client.xlen(recorder.keys.log) == 5
    client.close()
    assert [e.originator_version for e in recorder.select_events("venue-a", gt=3)] == [4, 5]


def test_reads_that_need_trimmed_events_fail_and_point_to_the_archive(store: EventStore) -> None:
    recorder = recorder_of(store)
    recorder.trim_below(6)
    with pytest.raises(PositionTrimmedError, match=r"positions 1\.\.5 .*archive"):
        list(store.read_all())
    with pytest.raises(PositionTrimmedError, match="venue-a versions up to 3"):
        store.read_stream("venue-a")
    with pytest.raises(PositionTrimmedError):
        recorder.subscribe(gt=2).__next__()
    # The newest event of a stream is still held, so its version is known.
    assert store.stream_version("venue-a") == 5


def test_a_trimmed_version_is_still_refused(store: EventStore) -> None:
    recorder = recorder_of(store)
    recorder.trim_below(11)
    assert recorder.first_position() is None
    with pytest.raises(IntegrityError, match="venue-a version 1"):
        recorder.insert_events([StoredEvent("venue-a", 1, "VenueConnectionChanged", b"{}")])
    # The facade cannot tell a retry from a conflict without the archive, and says so.
    with pytest.raises(PositionTrimmedError):
        store.append([venue_event("venue-a", 1, tag="-other")])
    assert store.head() == 10
    assert store.append([venue_event("venue-a", 6)]).positions == (11,)
    assert recorder.first_position() == 11


def test_trim_works_in_chunks_and_is_idempotent(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorders_module, "TRIM_CHUNK", 3)
    recorder = recorder_of(store)
    assert recorder.trim_below(9) == 8
    assert recorder.trim_below(9) == 0
    assert recorder.trim_below(4) == 0
    assert recorder.first_position() == 9


def test_trimming_beyond_the_head_is_refused(store: EventStore) -> None:
    with pytest.raises(ValueError, match="only reaches 10"):
        recorder_of(store).trim_below(12)
    assert recorder_of(store).first_position() == 1


def test_a_subscription_overtaken_by_a_trim_fails_instead_of_skipping(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subscription_module, "BATCH", 1)  # One entry per read.
    recorder = recorder_of(store)
    with recorder.subscribe(gt=0) as subscription:
        assert next(subscription).id == 1
        recorder.trim_below(8)
        with pytest.raises(PositionTrimmedError, match=r"positions 2\.\.7"):
            next(subscription)
