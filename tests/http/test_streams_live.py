"""The WebSocket streams over a real uvicorn and the ``websockets`` client: a client whose
connection is dropped mid-stream, again and again while the log grows, resumes with after= and
ends up with every position exactly once (SQLite and Redis); refusals arrive as close codes; a
client that stops reading is disconnected with a reason while another keeps receiving."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from domain.events.envelope import Actor, NewEvent
from domain.events.types import ActorKind
from tests.http.stream_support import KEY, StoreAt, heartbeat, record, serving, stream_app
from tests.services import REDIS_URL, redis_with_aof

TOTAL = 400


@pytest.fixture(params=["sqlite", "redis"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> StoreAt:
    if request.param == "sqlite":
        return StoreAt(f"sqlite:///{tmp_path / 'events.sqlite'}")
    return StoreAt(REDIS_URL, request.getfixturevalue("redis_prefix"))


def drop(connection: ClientConnection) -> None:
    """Cut the TCP connection without a closing handshake, as a lost network would."""
    connection.socket.shutdown(socket.SHUT_RDWR)
    connection.close_socket()


def test_dropped_connections_resume_with_every_event_exactly_once(opener: StoreAt) -> None:
    with opener() as store, serving(stream_app(opener)) as base:

        def write() -> None:
            for i in range(TOTAL):
                record(store, heartbeat(f"e{i}"))

        writer = threading.Thread(target=write)
        seen: list[int] = []
        drops = 0
        writer.start()
        try:
            while not seen or seen[-1] < TOTAL:
                after = seen[-1] if seen else 0
                with connect(f"{base}/ws/events?key={KEY}&after={after}") as ws:
                    for _ in range(60):
                        seen.append(json.loads(ws.recv(timeout=10))["position"])
                        if seen[-1] == TOTAL:
                            break
                    else:
                        drop(ws)
                        drops += 1
        finally:
            writer.join()
    assert drops >= 3
    assert seen == list(range(1, TOTAL + 1))


def small_socket(base: str) -> socket.socket:
    """A connected socket with a small fixed receive buffer (no autotuning to 32 MB)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32_768)
    sock.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    return sock


def close_of(url: str, **kwargs: object) -> tuple[int, str]:
    with connect(url, **kwargs) as ws, pytest.raises(ConnectionClosed) as closed:  # type: ignore[arg-type]
        ws.recv(timeout=10)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


def test_refusals_arrive_as_close_codes_and_a_header_key_is_accepted(tmp_path: Path) -> None:
    opener = StoreAt(f"sqlite:///{tmp_path / 'events.sqlite'}")
    with opener() as store, serving(stream_app(opener)) as base:
        assert close_of(f"{base}/ws/alerts")[0] == 4401
        assert close_of(f"{base}/ws/alerts?key=nope")[0] == 4403
        position = record(store, heartbeat("h"))
        headers = {"Authorization": f"Bearer {KEY}"}
        with connect(f"{base}/ws/events?after=0", additional_headers=headers) as ws:
            assert json.loads(ws.recv(timeout=10))["position"] == position


def test_a_client_that_stops_reading_is_dropped_and_others_keep_receiving(
    tmp_path: Path,
) -> None:
    opener = StoreAt(f"sqlite:///{tmp_path / 'events.sqlite'}")
    padding = "x" * 4_000  # large messages fill the socket buffers quickly
    actor = Actor(ActorKind.SYSTEM, "test", "a1")
    with opener() as store, serving(stream_app(opener, queue_limit=50)) as base:
        slow = connect(
            f"{base}/ws/events?key={KEY}&after=0",
            sock=small_socket(base),
            max_queue=1,
            compression=None,
        )
        with connect(f"{base}/ws/events?key={KEY}&after=0") as fast:
            received = 0
            for batch in range(10):
                store.append(
                    [
                        NewEvent(
                            f"pad-{batch}-{i}", 1, heartbeat(padding), f"p{batch}-{i}", 1, actor
                        )
                        for i in range(500)
                    ]
                )
                for _ in range(500):
                    fast.recv(timeout=10)
                    received += 1
        assert received == 5_000
        last = 0
        with slow, pytest.raises(ConnectionClosed) as closed:
            while True:
                last = json.loads(slow.recv(timeout=10))["position"]
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4008
    assert f"after={last}" in closed.value.rcvd.reason


def test_a_store_going_down_closes_streams_with_1011_and_they_resume_after(
    tmp_path: Path,
) -> None:
    with redis_with_aof(tmp_path) as redis_server:
        opener = StoreAt(redis_server.url, "lhtest-down")
        with serving(stream_app(opener)) as base:
            with opener() as store:
                first = record(store, heartbeat("before"))
            with connect(f"{base}/ws/events?key={KEY}&after=0") as ws:
                assert json.loads(ws.recv(timeout=10))["position"] == first
                redis_server.kill()
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1011
            assert "event store unavailable" in closed.value.rcvd.reason
            redis_server.start()  # the same port and AOF: nothing acknowledged was lost
            with opener() as store:
                second = record(store, heartbeat("after"))
            with connect(f"{base}/ws/events?key={KEY}&after={first}") as ws:
                assert json.loads(ws.recv(timeout=10))["position"] == second
