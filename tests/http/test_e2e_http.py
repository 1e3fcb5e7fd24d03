"""Over real HTTP (``lh serve`` in its own process): configure and start a paper session,
engage its kill switch, see the session record it with the key's owner as the operator and
stop submitting, then stop the session. (Watching its orders on the WebSocket is brief D's
half of this test, in tests/http/streams/.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.application.api_keys import ApiKeyStore, Role
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.control.helpers import ROOT, bidder
from tests.services import free_port, wait_for_port
from tests.trading.helpers import wave_bars, write_bars_csv


@pytest.fixture
def server() -> Iterator[str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port)],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT), "LH_RUN_LEASE_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()


def log() -> list[RecordedEvent]:
    """The whole log ([] before the session has created the store's file)."""
    url = load_settings().event_store
    if not Path(url.removeprefix("sqlite:///")).exists():
        return []
    store = open_event_store(url)
    try:
        return list(store.read_all())
    finally:
        store.close()


def wait_for(
    found: Callable[[list[RecordedEvent]], bool], seconds: float = 90
) -> list[RecordedEvent]:
    deadline = time.monotonic() + seconds
    while True:
        events = (
            log() if Path(load_settings().event_store.removeprefix("sqlite:///")).exists() else []
        )
        if found(events):
            return events
        assert time.monotonic() < deadline, f"not found in {len(events)} events"
        time.sleep(0.2)


def kinds(events: list[RecordedEvent], kind: str) -> list[RecordedEvent]:
    return [event for event in events if event.event_type == kind]


def test_a_session_started_and_halted_through_the_api(server: str, tmp_path: Path) -> None:
    keys = ApiKeyStore()
    admin = {"Authorization": f"Bearer {keys.create('ada', Role.ADMIN)[1]}"}
    trader = {"X-API-Key": keys.create("tom", Role.TRADER)[1]}
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(600))
    config = {"data": str(data), "strategy": bidder(tmp_path), "run_id": "api-e2e", "speed": 600}
    with httpx.Client(base_url=server, timeout=30) as http:
        created = http.post("/strategies", json=config, headers=admin)
        assert created.status_code == 201, created.text
        started = http.post("/strategies/api-e2e/start", headers=trader)
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running"

        events = wait_for(lambda ev: len(kinds(ev, "OrderSubmitted")) >= 2)
        engage = http.post(
            "/risk/kill-switch",
            json={"run": "api-e2e", "action": "engage", "reason": "drill"},
            headers=trader,
        )
        assert engage.status_code == 202, engage.text
        request_id = engage.json()["request_id"]
        assert engage.json()["operator"] == "tom"

        applied = "OperatorCommandApplied"
        events = wait_for(
            lambda ev: any(e.causation_id == request_id and e.event_type == applied for e in ev)
        )
        [request] = [e for e in events if e.event_id == request_id]
        assert request.actor.kind.value == "operator" and request.actor.name == "tom"
        [engaged] = kinds(events, "KillSwitchEngaged")
        assert engaged.data["operator"] == "tom" and engaged.causation_id == request_id

        after = engaged.position
        events = wait_for(
            lambda ev: len([e for e in kinds(ev, "RiskDecisionMade") if e.position > after]) >= 3
        )
        assert [e for e in kinds(events, "OrderSubmitted") if e.position > after] == []
        status = http.get("/runs/api-e2e/status", headers=trader).json()
        assert status["kill_switch_engaged"] is True

        stopped = http.post("/strategies/api-e2e/stop", headers=trader)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["status"] != "running"
    [stop] = kinds(log(), "StrategyRunStopped")
    assert stop.data["reason"] == "operator stop"
