"""A Redis primary and replica of our own (AOF on, free ports, temp dirs): with
``LH_REDIS_WAIT_REPLICAS=1`` every acknowledged append is on the replica, so killing the
primary and promoting the replica loses nothing; a missing replica fails the append."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from domain.events.catalog import ReconciliationCompleted, StrategyRunStopped
from infra.eventstore.factory import open_event_store
from infra.eventstore.redis.datastore import ReplicaNotConfirmedError
from tests.eventstore.events import venue_event
from tests.live.redis_pair import start_redis, wait_linked
from tests.live.support import check_agreement, exchange_at, groups, log_of, session
from tests.live.test_live_session import Crashing, _Crash
from tests.services import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int, list]]:  # type: ignore[type-arg]
    monkeypatch.setenv("LH_REDIS_WAIT_REPLICAS", "1")
    monkeypatch.setenv("LH_REDIS_WAIT_TIMEOUT_MS", "2000")  # a fresh replica may rewrite its AOF
    monkeypatch.setenv("LH_RUN_LEASE_SECONDS", "2")
    primary_port, replica_port = free_port(), free_port()
    servers = [start_redis(tmp_path / "primary", primary_port)]
    servers.append(start_redis(tmp_path / "replica", replica_port, primary_port))
    wait_linked(primary_port)
    yield primary_port, replica_port, servers
    for server in servers:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_primary_killed_replica_promoted_the_session_resumes_with_nothing_lost(
    pair: tuple[int, int, list],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary_port, replica_port, servers = pair
    exchange = exchange_at()
    bars = groups(120)
    primary = open_event_store(f"redis://127.0.0.1:{primary_port}/0", live=True)
    with pytest.raises(_Crash):
        session(primary, exchange, Crashing(bars, 70))
    acknowledged = [e.event_id for e in primary.read_all()]
    servers[0].send_signal(signal.SIGKILL)
    servers[0].wait()
    redis.Redis(port=replica_port).execute_command(  # type: ignore[no-untyped-call]
        "REPLICAOF", "NO", "ONE"
    )
    monkeypatch.setenv("LH_REDIS_WAIT_REPLICAS", "0")  # the promoted server has no replica yet
    promoted = open_event_store(f"redis://127.0.0.1:{replica_port}/0", live=True)
    assert [e.event_id for e in promoted.read_all()] == acknowledged
    result = session(promoted, exchange, bars, max_bars=30)
    events = log_of(promoted, result.run_id)
    assert [type(e.payload) for e in events].count(ReconciliationCompleted) == 2
    assert isinstance(events[-1].payload, StrategyRunStopped)
    check_agreement(promoted, result.run_id, exchange)


def test_an_append_no_replica_confirms_fails_clearly(
    pair: tuple[int, int, list],  # type: ignore[type-arg]
) -> None:
    primary_port, _, servers = pair
    store = open_event_store(f"redis://127.0.0.1:{primary_port}/0")
    store.append([venue_event("venue-sim", 1)])
    servers[1].send_signal(signal.SIGKILL)
    servers[1].wait()
    with pytest.raises(ReplicaNotConfirmedError, match="0 of 1 replica"):
        store.append([venue_event("venue-sim", 2)])
