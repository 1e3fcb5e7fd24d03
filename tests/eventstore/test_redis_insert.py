"""The Redis insert's wire form: the command packed by hand, the batch read once, the script
reloaded when the server lost it; what is stored stays exactly what the codec and chain give."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
import redis
from redis.connection import Encoder, PythonRespSerializer  # type: ignore[attr-defined]

from domain.events import chain
from domain.events.codec import encode
from infra.eventstore.factory import open_event_store
from infra.eventstore.redis.datastore import _lua, resp_command
from infra.eventstore.store import EventStore
from tests.eventstore.events import venue_event
from tests.eventstore.redis_support import recorder_of

RECORDED_AT = 1_700_000_000_000_000


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> Iterator[EventStore]:
    opened = open_event_store(redis_url, key_prefix=redis_prefix, clock=lambda: RECORDED_AT)
    yield opened
    opened.close()


def test_resp_command_packs_what_redis_py_packs() -> None:
    args: list[bytes | str | int] = ["EVALSHA", "ab" * 20, 2, "k:ü", b"", 0, -7, b"\r\n\x00" * 3000]
    encoder = Encoder("utf-8", "strict", False)  # type: ignore[no-untyped-call]
    packer = PythonRespSerializer(6_000, encoder.encode)
    packed = packer.pack(*args)  # type: ignore[no-untyped-call]
    assert resp_command(args) == b"".join(bytes(chunk) for chunk in packed)


def test_a_batch_is_stored_as_the_codec_encodes_it_and_chained(
    store: EventStore, client: redis.Redis
) -> None:
    events = [venue_event(f"venue-{n % 3}", n // 3 + 1) for n in range(9)]
    store.append(events)
    keys = recorder_of(store).keys
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(keys.log))
    stored = [encode(event, RECORDED_AT) for event in events]
    records = [(str(e.originator_id), e.originator_version, e.topic, e.state) for e in stored]
    assert [
        (fields[b"o"].decode(), int(fields[b"v"]), fields[b"t"].decode(), fields[b"s"])
        for _, fields in entries
    ] == records
    assert [fields[b"c"] for _, fields in entries] == chain.extend(chain.GENESIS, 1, records)
    assert [entry_id for entry_id, _ in entries] == [b"%d-0" % n for n in range(1, 10)]
    assert client.xrange(keys.aggregate("venue-1")) == [
        (b"1-1", {b"p": b"2"}),
        (b"2-1", {b"p": b"5"}),
        (b"3-1", {b"p": b"8"}),
    ]


def test_the_script_is_loaded_again_when_the_server_does_not_hold_it(
    store: EventStore, client: redis.Redis, redis_prefix: str
) -> None:
    """A restarted Redis has no scripts: the append loads it and records the batch once."""
    datastore = recorder_of(store).datastore
    datastore.insert_script = datastore.client.register_script(
        _lua("insert.lua") + f"\n-- {redis_prefix}\n"  # a script this server never saw
    )
    assert client.script_exists(datastore.insert_script.sha) == [False]
    store.append([venue_event("venue-a", 1), venue_event("venue-a", 2)])
    assert client.script_exists(datastore.insert_script.sha) == [True]
    assert [event.stream_version for event in store.read_all()] == [1, 2]


def test_a_refused_batch_leaves_the_connection_usable(store: EventStore) -> None:
    """The error reply is read off the connection before it goes back to the pool."""
    store.append([venue_event("venue-a", 1)])
    recorder = recorder_of(store)
    with pytest.raises(Exception, match="LHCONFLICT"):
        recorder.insert_events([encode(venue_event("venue-a", 1, tag="x"), RECORDED_AT)])
    store.append([venue_event("venue-a", 2)])
    assert store.head() == 2
