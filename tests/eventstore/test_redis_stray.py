"""A stray entry in a Redis stream: the append refuses it whole and leaves no hole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from infra.eventstore.factory import open_event_store
from infra.eventstore.redis.datastore import StrayEntryError
from infra.eventstore.store import EventStore
from tests.eventstore.events import venue_event
from tests.eventstore.redis_support import recorder_of


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[EventStore]:
    opened = open_event_store(redis_url, key_prefix=redis_prefix)
    for version in range(1, 4):
        opened.append([venue_event("venue-a", version)])
    yield opened
    opened.close()


def test_a_stray_log_entry_refuses_the_append_and_moves_nothing(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    client.xadd(keys.log, {"x": "1"}, id="4-0")
    with pytest.raises(StrayEntryError, match=r":log ends at 4-0, expected 3-0"):
        store.append([venue_event("venue-b", 1)])
    assert client.get(keys.sequence) == b"3"
    assert client.exists(keys.aggregate("venue-b")) == 0
    with pytest.raises(StrayEntryError):
        store.append([venue_event("venue-b", 1)])

    # The runbook's repair: delete the stray and set the stream's last id back to the head.
    client.xdel(keys.log, "4-0")
    client.execute_command("XSETID", keys.log, "3-0")
    store.append([venue_event("venue-b", 1)])
    assert [event.position for event in store.read_all()] == [1, 2, 3, 4]


def test_a_stray_aggregate_entry_refuses_the_batch_before_the_log_is_written(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    client.xadd(keys.aggregate("venue-a"), {"x": "1"}, id="9-1")
    with pytest.raises(StrayEntryError, match=r"venue-a ends at 9-1, expected 3-1"):
        store.append([venue_event("venue-b", 1), venue_event("venue-a", 4)])
    assert client.xlen(keys.log) == 3
    assert client.get(keys.sequence) == b"3"
    assert client.exists(keys.aggregate("venue-b")) == 0


def test_a_stray_in_a_new_aggregate_stream_is_refused(
    store: EventStore, client: redis.Redis
) -> None:
    keys = recorder_of(store).keys
    client.xadd(keys.aggregate("venue-c"), {"x": "1"}, id="1-1")
    with pytest.raises(StrayEntryError, match=r"venue-c ends at 1-1, expected no stream"):
        store.append([venue_event("venue-c", 1)])
    assert client.xlen(keys.log) == 3


def test_a_deleted_stray_aggregate_entry_refuses_the_batch_and_takes_back_its_entries(
    store: EventStore, client: redis.Redis
) -> None:
    """A stray added then deleted leaves the stream's last id past its entries, so the
    batch's XADD fails after others of the batch were added: those are taken back."""
    keys = recorder_of(store).keys
    store.append([venue_event("venue-b", 1)])
    client.xadd(keys.aggregate("venue-a"), {"x": "1"}, id="9-1")
    client.xdel(keys.aggregate("venue-a"), "9-1")
    batch = [
        venue_event("venue-b", 2),
        venue_event("venue-c", 1),
        venue_event("venue-b", 3),
        venue_event("venue-a", 4),
    ]
    with pytest.raises(StrayEntryError, match=r"venue-a ends at 9-1, expected 3-1"):
        store.append(batch)
    assert client.xlen(keys.log) == 4
    assert client.get(keys.sequence) == b"4"
    assert client.exists(keys.aggregate("venue-c")) == 0
    assert [entry_id for entry_id, _ in client.xrange(keys.aggregate("venue-b"))] == [b"1-1"]
    assert client.xinfo_stream(keys.aggregate("venue-b"))["last-generated-id"] == b"1-1"

    client.execute_command("XSETID", keys.aggregate("venue-a"), "3-1")  # the runbook's repair
    store.append(batch)
    assert [event.position for event in store.read_all()] == list(range(1, 9))
    assert store.stream_version("venue-b") == 3
