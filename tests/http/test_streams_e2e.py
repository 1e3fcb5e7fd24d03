"""The issue's end-to-end proof over real HTTP and WebSocket (uvicorn on a free port, the
``websockets`` client): start a paper session through the API, watch its orders arrive on
/ws/orders, engage the kill switch through the API, see the session record it on /ws/alerts,
and see on /ws/events that it submits nothing after, while it keeps deciding (rejected)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from tests.control.helpers import bidder
from tests.http.stream_support import api_with_streams, serving
from tests.trading.helpers import wave_bars, write_bars_csv

RUN = "ws-e2e"


def next_message(ws: ClientConnection, wanted: str, seconds: float = 90) -> dict[str, Any]:
    """The next message of type ``wanted`` (others are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=seconds))
        if message["type"] == wanted:
            return message


def test_a_paper_session_watched_on_the_websockets_and_halted_through_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_RUN_LEASE_SECONDS", "1")
    keys = ApiKeyStore()
    admin = {"Authorization": f"Bearer {keys.create('ada', Role.ADMIN)[1]}"}
    trader_key = keys.create("tom", Role.TRADER)[1]
    trader = {"Authorization": f"Bearer {trader_key}"}
    viewer_key = keys.create("vic", Role.VIEWER)[1]
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(600))
    config = {"data": str(data), "strategy": bidder(tmp_path), "run_id": RUN, "speed": 600}
    with (
        serving(api_with_streams(bootstrap())) as ws_base,
        httpx.Client(base_url=ws_base.replace("ws://", "http://") + "/api/v1", timeout=30) as http,
    ):
        assert http.post("/strategies", json=config, headers=admin).status_code == 201
        started = http.post(f"/strategies/{RUN}/start", headers=trader)
        assert started.status_code == 202, started.text
        try:
            stream = f"{ws_base}/ws/%s?key={viewer_key}&run={RUN}&after=0"
            with connect(stream % "orders") as orders, connect(stream % "alerts") as alerts:
                first = next_message(orders, "OrderSubmitted")
                second = next_message(orders, "OrderSubmitted")
                assert second["position"] > first["position"]
                assert first["payload"]["symbol"] and first["run"] == RUN

                engage = http.post(
                    "/risk/kill-switch",
                    json={"run": RUN, "action": "engage", "reason": "drill"},
                    headers=trader,
                )
                assert engage.status_code == 202, engage.text
                engaged = next_message(alerts, "KillSwitchEngaged")
                assert engaged["payload"]["operator"] == "tom"
                assert engaged["payload"]["reason"] == "drill"

            after = engaged["position"]
            with connect(f"{ws_base}/ws/events?key={viewer_key}&run={RUN}&after={after}") as ws:
                seen: list[dict[str, Any]] = []
                while sum(m["type"] == "RiskDecisionMade" for m in seen) < 3:
                    seen.append(json.loads(ws.recv(timeout=90)))
            assert [m["position"] for m in seen] == sorted({m["position"] for m in seen})
            decisions = [m for m in seen if m["type"] == "RiskDecisionMade"]
            assert all(m["payload"]["approved"] is False for m in decisions)
            assert [m for m in seen if m["type"] == "OrderSubmitted"] == []
        finally:
            http.post(f"/strategies/{RUN}/stop", headers=trader)
