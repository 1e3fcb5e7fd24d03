"""The WebSocket streams through Starlette's TestClient, on a real SQLite file and a real Redis:
live delivery, resuming with after= (no gap, no duplicate), auth refusals, filters, and a store
that is down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.http.streams.messages import MessageCache
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.http.stream_support import (
    KEY,
    StoreAt,
    bar,
    decision,
    filled,
    heartbeat,
    kill_switch,
    record,
    stream_app,
    submitted,
    valued,
)
from tests.services import REDIS_URL, free_port


@pytest.fixture(params=["sqlite", "redis"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> StoreAt:
    if request.param == "sqlite":
        return StoreAt(f"sqlite:///{tmp_path / 'events.sqlite'}")
    return StoreAt(REDIS_URL, request.getfixturevalue("redis_prefix"))


@pytest.fixture
def sqlite_opener(tmp_path: Path) -> StoreAt:
    return StoreAt(f"sqlite:///{tmp_path / 'events.sqlite'}")


@pytest.fixture
def store(opener: StoreAt) -> Iterator[EventStore]:
    with opener() as opened:
        yield opened


def positions_of(messages: list[dict[str, Any]]) -> list[int]:
    return [message["position"] for message in messages]


def receive(ws: Any, n: int) -> list[dict[str, Any]]:
    return [ws.receive_json() for _ in range(n)]


def test_events_appended_while_connected_arrive_in_order(
    opener: StoreAt, store: EventStore
) -> None:
    first = record(store, heartbeat("before"))
    with (
        TestClient(stream_app(opener)) as client,
        client.websocket_connect(f"/ws/events?key={KEY}&after=0") as ws,
    ):
        assert ws.receive_json()["position"] == first
        later = [record(store, heartbeat(f"live-{i}")) for i in range(5)]
        got = receive(ws, 5)
    assert positions_of(got) == later
    assert got[0]["type"] == "VenueConnectionChanged"
    assert got[0]["payload"] == {"venue": "sim", "connected": True, "reason": "live-0"}
    assert got[0]["run"] == "run-1"
    assert got[0]["account"] == "a1"
    assert got[0]["time"].endswith("Z")


def test_reconnecting_with_after_resumes_without_gap_or_duplicate(
    opener: StoreAt, store: EventStore
) -> None:
    for i in range(10):
        record(store, heartbeat(f"a{i}"))
    with TestClient(stream_app(opener)) as client:
        with client.websocket_connect(f"/ws/events?key={KEY}&after=0") as ws:
            seen = positions_of(receive(ws, 4))
        # Dropped after 4; the log grows while the client is away.
        for i in range(10):
            record(store, heartbeat(f"b{i}"))
        with client.websocket_connect(f"/ws/events?key={KEY}&after={seen[-1]}") as ws:
            seen += positions_of(receive(ws, 16))
            live = record(store, heartbeat("live"))
            sentinel = record(store, heartbeat("end"))
            seen += positions_of(receive(ws, 2))
    assert seen == [*range(1, 21), live, sentinel]


def test_without_after_a_client_gets_only_new_events(sqlite_opener: StoreAt) -> None:
    """The client cannot know when the server has taken the head, so events keep arriving
    until one is delivered: it must be one recorded after the old one."""
    with sqlite_opener() as store:
        old = record(store, heartbeat("old"))
    stop = threading.Event()

    def keep_recording() -> None:
        with sqlite_opener() as writer:
            while not stop.wait(0.05):
                record(writer, heartbeat("new"))

    with (
        TestClient(stream_app(sqlite_opener)) as client,
        client.websocket_connect(f"/ws/events?key={KEY}") as ws,
    ):
        writer = threading.Thread(target=keep_recording, daemon=True)
        writer.start()
        try:
            first = ws.receive_json()
        finally:
            stop.set()
            writer.join()
    assert first["position"] > old
    assert first["type"] == "VenueConnectionChanged"


def closed_with(client: TestClient, url: str, **kwargs: Any) -> tuple[int, str]:
    with (
        client.websocket_connect(url, **kwargs) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    return closed.value.code, closed.value.reason


def test_a_missing_or_unknown_key_is_refused_with_its_close_code(sqlite_opener: StoreAt) -> None:
    with TestClient(stream_app(sqlite_opener)) as client:
        code, reason = closed_with(client, "/ws/orders")
        assert code == 4401
        assert "API key" in reason
        assert closed_with(client, "/ws/orders?key=wrong")[0] == 4403
        bearer = {"Authorization": "Bearer wrong"}
        assert closed_with(client, "/ws/alerts", headers=bearer)[0] == 4403
        assert closed_with(client, f"/ws/events?key={KEY}&after=-3")[0] == 4400


def test_the_bearer_header_is_accepted(sqlite_opener: StoreAt) -> None:
    with sqlite_opener() as store, TestClient(stream_app(sqlite_opener)) as client:
        position = record(store, heartbeat("x"))
        with client.websocket_connect(
            "/ws/events?after=0", headers={"Authorization": f"Bearer {KEY}"}
        ) as ws:
            assert ws.receive_json()["position"] == position


def test_each_stream_carries_its_events_and_honours_the_filters(sqlite_opener: StoreAt) -> None:
    with sqlite_opener() as store:
        record(store, bar("ETHUSDT"))
        btc_bar = record(store, bar("BTCUSDT"))
        order_a1 = record(store, submitted("o1", "a1"), account="a1")
        record(store, submitted("o2", "a2"), account="a2")
        fill_a1 = record(store, filled("o1"), account="a1")
        record(store, decision("a1", approved=True), account="a1")
        rejected = record(store, decision("a2", approved=False), account="a2")
        kill = record(store, kill_switch("a1"), account="a1")
        other_run = record(store, valued("run-2", "a1"), run="run-2")
        record(store, valued("run-1", "a1"))
        end = record(store, heartbeat("end"), run="run-3")

    def first_positions(client: TestClient, path: str, n: int) -> list[int]:
        joiner = "&" if "?" in path else "?"
        with client.websocket_connect(f"{path}{joiner}key={KEY}&after=0") as ws:
            return positions_of(receive(ws, n))

    with TestClient(stream_app(sqlite_opener)) as client:
        assert first_positions(client, "/ws/market/BTCUSDT", 1) == [btc_bar]
        assert first_positions(client, "/ws/orders?account=a1", 2) == [order_a1, fill_a1]
        assert first_positions(client, "/ws/alerts", 2) == [rejected, kill]
        assert first_positions(client, "/ws/performance?run=run-2", 1) == [other_run]
        assert first_positions(client, "/ws/events?run=run-3", 1) == [end]
        # Each stream's next message is its next matching event, not something skipped.
        with (
            sqlite_opener() as store,
            client.websocket_connect(f"/ws/market/BTCUSDT?key={KEY}&after={btc_bar}") as ws,
        ):
            record(store, bar("ETHUSDT"))
            next_btc = record(store, bar("BTCUSDT"))
            assert ws.receive_json()["position"] == next_btc


def test_a_store_that_is_down_closes_the_stream_with_a_reason() -> None:
    down = StoreAt(f"redis://127.0.0.1:{free_port()}/0", "lhtest-down")
    with TestClient(stream_app(down)) as client:
        code, reason = closed_with(client, f"/ws/events?key={KEY}")
    assert code == 1011
    assert "unavailable" in reason or "connect" in reason.lower()


def test_the_log_is_read_by_one_reader_shared_by_every_client(sqlite_opener: StoreAt) -> None:
    opened: list[int] = []

    class CountingOpener(StoreAt):
        def __call__(self) -> Any:
            opened.append(1)
            return closing(open_event_store(self.url))

    counting = CountingOpener(sqlite_opener.url)
    with (
        sqlite_opener() as store,
        TestClient(stream_app(counting)) as client,
        client.websocket_connect(f"/ws/events?key={KEY}&after=0") as one,
        client.websocket_connect(f"/ws/orders?key={KEY}&after=0") as two,
    ):
        heartbeat_at = record(store, heartbeat("h"))
        order_at = record(store, submitted("o9", "a1"))
        assert positions_of(receive(one, 2)) == [heartbeat_at, order_at]
        assert two.receive_json()["position"] == order_at
    assert len(opened) == 1


def test_the_message_cache_builds_each_position_once_and_keeps_the_newest(
    sqlite_opener: StoreAt,
) -> None:
    with sqlite_opener() as store:
        for i in range(3):
            record(store, heartbeat(f"c{i}"))
        [page] = list(store.read_notifications(0))
    cache = MessageCache(capacity=2)
    first = cache.message(page[0])
    assert cache.message(page[0]) is first
    assert json.loads(first.text)["payload"]["reason"] == "c0"
    cache.message(page[1])
    cache.message(page[2])
    assert len(cache) == 2
    assert cache.message(page[0]) is not first  # evicted, built again
