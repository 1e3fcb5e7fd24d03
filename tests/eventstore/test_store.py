"""The EventStore facade on both real backends: SQLite in a temp file and Redis under a prefix."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events.catalog import FillRecorded
from domain.events.codec import CorruptEventError, canonical_json, payload_hash
from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.eventstore.events import OPERATOR, venue_event
from tests.eventstore.redis_support import delete_prefix, new_prefix, require_redis
from tests.services import REDIS_URL

RECORDED_AT = 1_700_000_123_456_789
BACKENDS = ["sqlite", "redis"]


def open_store(backend: str, directory: Path, prefix: str) -> EventStore:
    if backend == "sqlite":
        return open_event_store(
            f"sqlite:///{directory / 'events.sqlite'}", clock=lambda: RECORDED_AT
        )
    return open_event_store(REDIS_URL, key_prefix=prefix, clock=lambda: RECORDED_AT)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    prefix = request.getfixturevalue("redis_prefix") if request.param == "redis" else ""
    opened = open_store(request.param, tmp_path, prefix)
    yield opened
    opened.close()


def test_round_trip_keeps_the_envelope(store: EventStore) -> None:
    events = [venue_event("venue-a", 1), venue_event("venue-a", 2, connected=False)]
    result = store.append(events)
    assert result.positions == (1, 2)
    assert not result.duplicate

    read = list(store.read_all(verify=True))
    assert [event.position for event in read] == [1, 2]
    first = read[0]
    assert first.stream_id == "venue-a"
    assert first.stream_version == 1
    assert first.event_type == "VenueConnectionChanged"
    assert first.stored_schema_version == 1
    assert first.event_id == "venue-a:1"
    assert first.event_time_us == events[0].event_time_us
    assert first.recorded_time_us == RECORDED_AT
    assert (first.causation_id, first.correlation_id) == ("cause-1", "corr-1")
    assert first.actor == OPERATOR
    assert first.data == events[0].payload.model_dump(mode="json")
    assert first.payload == events[0].payload
    assert first.payload_hash == payload_hash(first.data)
    assert read[1].payload == events[1].payload
    assert [event.event_id for event in store.read_stream("venue-a")] == ["venue-a:1", "venue-a:2"]
    assert store.head() == 2
    assert store.stream_version("venue-a") == 2
    assert store.stream_version("venue-none") == 0


def test_re_appending_the_same_events_is_a_duplicate_and_writes_nothing(store: EventStore) -> None:
    batch = [venue_event("venue-a", 1), venue_event("venue-a", 2)]
    assert store.append(batch).positions == (1, 2)
    again = store.append(batch)
    assert again.duplicate
    assert again.positions == ()
    assert store.head() == 2
    assert len(list(store.read_all())) == 2


def test_a_different_event_at_a_taken_version_is_a_conflict(store: EventStore) -> None:
    store.append([venue_event("venue-a", 1)])
    with pytest.raises(StreamVersionConflictError, match="venue-a") as caught:
        store.append([venue_event("venue-a", 1, tag="-other")])
    assert (caught.value.stream_id, caught.value.version) == ("venue-a", 1)
    assert store.head() == 1
    assert [event.event_id for event in store.read_all()] == ["venue-a:1"]


def test_one_conflict_rejects_the_whole_batch(store: EventStore) -> None:
    store.append([venue_event("venue-a", 1)])
    batch = [
        venue_event("venue-b", 1),
        venue_event("venue-b", 2),
        venue_event("venue-a", 1, tag="-other"),
        venue_event("venue-c", 1),
    ]
    with pytest.raises(StreamVersionConflictError) as caught:
        store.append(batch)
    assert caught.value.stream_id == "venue-a"
    assert store.head() == 1
    assert store.read_stream("venue-b") == []
    assert store.read_stream("venue-c") == []
    # The next accepted append takes the next position: no gap was left by the rejected batch.
    assert store.append([venue_event("venue-b", 1)]).positions == (2,)


def test_positions_are_gapless_and_read_all_honours_after_and_stop(store: EventStore) -> None:
    positions: list[int] = []
    for version in range(1, 6):
        batch = [venue_event("venue-a", version), venue_event(f"venue-{version}", 1)]
        positions.extend(store.append(batch).positions)
    assert positions == list(range(1, 11))
    assert [event.position for event in store.read_all()] == positions
    assert [event.position for event in store.read_all(after=3, stop=7)] == [4, 5, 6, 7]
    assert [event.position for event in store.read_all(after=10)] == []
    pages = list(store.read_notifications(after=2, batch_size=3))
    assert [[record.id for record in page] for page in pages] == [[3, 4, 5], [6, 7, 8], [9, 10]]


def test_read_stream_after_reads_from_a_version_on(store: EventStore) -> None:
    store.append([venue_event("venue-a", version) for version in range(1, 6)])
    store.append([venue_event("venue-b", 1)])
    assert [e.stream_version for e in store.read_stream_after("venue-a", 3)] == [4, 5]
    assert [e.stream_version for e in store.read_stream_after("venue-a", 0, limit=1)] == [1]
    assert store.read_stream_after("venue-a", 5) == []
    assert [e.event_id for e in store.read_stream_after("venue-b", 0)] == ["venue-b:1"]


def test_follow_yields_events_appended_by_another_thread(store: EventStore) -> None:
    store.append([venue_event("venue-a", 1)])
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        for page in store.follow(after=0, poll_seconds=0.05, stop_when=done.is_set):
            seen.extend(record.id for record in page)
            if len(seen) >= 4:
                done.set()

    follower = threading.Thread(target=follow)
    follower.start()
    for version in range(2, 5):
        store.append([venue_event("venue-a", version)])
    follower.join(timeout=30)
    done.set()
    assert not follower.is_alive()
    assert seen == [1, 2, 3, 4]


def test_redis_wait_for_notification_returns_once_an_event_lands(
    redis_prefix: str, tmp_path: Path
) -> None:
    store = open_store("redis", tmp_path, redis_prefix)
    wait = store.recorder.wait_for_notification  # type: ignore[attr-defined]
    wait(0, 0.01)  # Nothing recorded: returns after the timeout, without error.
    writer = threading.Timer(0.05, lambda: store.append([venue_event("venue-a", 1)]))
    writer.start()
    wait(0, 30.0)  # Blocks in XREAD until the writer's event exists.
    writer.join()
    assert store.head() == 1
    store.close()


def _fill_v1_state(commission: str) -> tuple[bytes, dict[str, object]]:
    payload: dict[str, object] = {
        "fill_id": "fill-1",
        "order_id": "order-1",
        "account": "acct-1",
        "strategy": "sma",
        "symbol": "BTC/USDT",
        "side": "BUY",
        "price": "30000.5",
        "quantity": "0.25",
        "commission": commission,
        "venue": "sim",
        "venue_order_id": "v-order-1",
        "venue_fill_id": "v-fill-1",
    }
    state = {
        "actor": OPERATOR.as_dict(),
        "causation_id": "order-1:submitted",
        "correlation_id": "corr-1",
        "event_id": "fill-1",
        "event_time_us": 1_600_000_000_000_000,
        "payload": payload,
        "payload_hash": payload_hash(payload),
        "recorded_time_us": 1_600_000_000_000_001,
        "schema_version": 1,
    }
    return canonical_json(state), payload


def test_a_stored_v1_fill_is_upcast_on_read_and_its_hash_still_verifies(store: EventStore) -> None:
    state, v1_payload = _fill_v1_state("1.875")
    store.recorder.insert_events([StoredEvent("order-1", 1, "FillRecorded", state)])

    (event,) = store.read_all(verify=True)
    assert event.stored_schema_version == 1
    assert event.data["fee"] == "1.875"
    assert "commission" not in event.data
    fill = event.payload
    assert isinstance(fill, FillRecorded)
    assert fill.fee == Decimal("1.875")
    assert fill.schema_version == 2
    assert event.payload_hash == payload_hash(v1_payload)
    assert event.state == state


def test_corrupt_state_names_the_position(store: EventStore) -> None:
    store.append([venue_event("venue-a", 1)])
    store.recorder.insert_events(
        [StoredEvent("venue-b", 1, "VenueConnectionChanged", b"{not json")]
    )
    with pytest.raises(CorruptEventError, match="position 2"):
        list(store.read_all())


def test_a_tampered_payload_fails_its_hash_at_its_position(store: EventStore) -> None:
    state, _ = _fill_v1_state("1.875")
    tampered = json.loads(state)
    tampered["payload"]["commission"] = "0.001"
    store.append([venue_event("venue-a", 1)])
    store.recorder.insert_events(
        [StoredEvent("order-1", 1, "FillRecorded", canonical_json(tampered))]
    )
    assert len(list(store.read_all())) == 2  # Without verification it still decodes.
    with pytest.raises(CorruptEventError, match=r"position 2.*payload hash"):
        list(store.read_all(verify=True))


STREAMS = ["order-a", "order-b", "risk-acct", "venue-x"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_any_interleaving_gives_gapless_positions_and_per_stream_versions(backend: str) -> None:
    if backend == "redis":
        require_redis()

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        st.lists(st.tuples(st.sampled_from(STREAMS), st.integers(1, 3)), min_size=1, max_size=12)
    )
    def check(appends: list[tuple[str, int]]) -> None:
        prefix = new_prefix()
        with tempfile.TemporaryDirectory() as directory:
            store = open_store(backend, Path(directory), prefix)
            try:
                versions: dict[str, int] = {}
                expected: list[tuple[str, int, str]] = []
                for stream, size in appends:
                    batch = []
                    for _ in range(size):
                        versions[stream] = versions.get(stream, 0) + 1
                        batch.append(venue_event(stream, versions[stream]))
                    store.append(batch)
                    expected.extend((e.stream_id, e.stream_version, e.event_id) for e in batch)

                read = list(store.read_all())
                assert [event.position for event in read] == list(range(1, len(expected) + 1))
                assert [(e.stream_id, e.stream_version, e.event_id) for e in read] == expected
                for stream, last in versions.items():
                    stream_versions = [e.stream_version for e in store.read_stream(stream)]
                    assert stream_versions == list(range(1, last + 1))
            finally:
                store.close()
                if backend == "redis":
                    delete_prefix(prefix)

    check()
