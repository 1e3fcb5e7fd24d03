"""The Redis layout: an event's record is stored once, in the log; its aggregate entry points."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
import redis
from eventsourcing.persistence import DataError

from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.eventstore.events import venue_event
from tests.eventstore.redis_support import recorder_of


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[EventStore]:
    opened = open_event_store(redis_url, key_prefix=redis_prefix)
    opened.append([venue_event("venue-a", 1), venue_event("venue-b", 1)])
    opened.append([venue_event("venue-a", 2)])
    yield opened
    opened.close()


def test_an_aggregate_entry_holds_only_its_position_and_reads_the_log_record(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    assert client.xrange(keys.aggregate("venue-a")) == [
        (b"1-1", {b"p": b"1"}),
        (b"2-1", {b"p": b"3"}),
    ]
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(keys.log))
    logged = {entry_id: fields[b"s"] for entry_id, fields in entries}
    stream = store.read_stream("venue-a")
    assert [event.state for event in stream] == [logged[b"1-0"], logged[b"3-0"]]
    assert store.stream_version("venue-a") == 2
    newest = recorder_of(store).select_events("venue-a", desc=True, limit=1)
    assert [(e.originator_version, e.state) for e in newest] == [(2, logged[b"3-0"])]


def test_an_aggregate_entry_written_before_the_layout_still_reads(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    client.xadd(keys.aggregate("venue-old"), {"t": "VenueThing", "s": b"{}"}, id="1-1")
    (found,) = recorder_of(store).select_events("venue-old")
    assert (found.originator_version, found.topic, found.state) == (1, "VenueThing", b"{}")


def test_an_entry_pointing_at_a_missing_log_entry_is_named_not_misread(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    client.xdel(keys.log, "3-0")
    with pytest.raises(DataError, match=r"venue-a entry 2-1 points at position 3"):
        store.read_stream("venue-a")
    client.xadd(keys.aggregate("venue-c"), {"x": "1"}, id="1-1")
    with pytest.raises(DataError, match=r"venue-c entry 1-1 holds no record"):
        store.read_stream("venue-c")


def test_a_batch_over_more_aggregates_than_one_hset_takes_records_every_version(
    store: EventStore, client: redis.Redis
) -> None:
    streams = [f"venue-many-{n}" for n in range(4_500)]  # 9,000 values: over unpack's limit
    store.append([venue_event(stream, 1) for stream in streams])
    versions = client.hgetall(recorder_of(store).keys.versions)
    assert all(versions[stream.encode()] == b"1" for stream in streams)
    with pytest.raises(StreamVersionConflictError):
        store.append([venue_event(streams[-1], 1, tag="again")])
