"""The read routes over a recorded backtest: filters, cursor pagination, problem shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.application.api_keys import Role
from tests.http.conftest import auth
from tests.http.helpers import record_backtest

PROBLEM = "application/problem+json"


@pytest.fixture
def viewer(client: TestClient, role_keys: dict[Role, str], tmp_path: Path) -> TestClient:
    record_backtest(tmp_path)
    client.headers.update(auth(role_keys[Role.VIEWER]))
    return client


def test_orders_page_by_cursor_without_gap_or_repeat(viewer: TestClient) -> None:
    everything = viewer.get("/api/v1/orders", params={"limit": 1000}).json()
    assert everything["next_cursor"] is None
    all_ids = [order["order_id"] for order in everything["items"]]
    assert len(all_ids) > 5
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "run": "bt-api"}
        if cursor:
            params["cursor"] = cursor
        page = viewer.get("/api/v1/orders", params=params).json()
        assert len(page["items"]) <= 2
        seen += [order["order_id"] for order in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == all_ids
    assert isinstance(everything["items"][0]["quantity"], str)  # exact decimals as text


def test_a_cursor_is_bound_to_its_filters(viewer: TestClient) -> None:
    cursor = viewer.get("/api/v1/trades", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    other = viewer.get("/api/v1/trades", params={"limit": 1, "symbol": "BTC", "cursor": cursor})
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["title"] == "Invalid cursor"
    forged = viewer.get("/api/v1/trades", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422


def test_filters_by_run_symbol_and_time(viewer: TestClient) -> None:
    trades = viewer.get("/api/v1/trades", params={"run": "bt-api", "limit": 1000}).json()["items"]
    assert trades and {t["symbol"] for t in trades} == {"BTC"}
    middle = trades[len(trades) // 2]["event_time"]
    later = viewer.get("/api/v1/trades", params={"since": middle, "limit": 1000}).json()["items"]
    assert later and all(t["event_time"] >= middle for t in later)
    assert len(later) < len(trades)
    assert viewer.get("/api/v1/positions", params={"symbol": "ETH"}).json()["items"] == []
    runs = viewer.get("/api/v1/performance", params={"run": "bt-api"}).json()["items"]
    assert [run["run_id"] for run in runs] == ["bt-api"]


def test_unknown_run_and_bad_input_are_problems(viewer: TestClient) -> None:
    unknown = viewer.get("/api/v1/orders", params={"run": "no-such-run"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json() == {
        "type": "about:blank",
        "title": "Unknown run",
        "status": 404,
        "detail": "no run 'no-such-run' in the read model",
    }
    bad = viewer.get("/api/v1/orders", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["title"] == "Invalid request"
    assert "limit" in bad.json()["detail"]
    missing = viewer.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_audit_trace_and_state_from_the_log(viewer: TestClient) -> None:
    fill = viewer.get("/api/v1/trades", params={"limit": 1}).json()["items"][0]
    chain = viewer.get("/api/v1/audit/trace", params={"fill_id": fill["fill_id"]}).json()["chain"]
    assert chain[0]["event_type"] == "FillRecorded"
    assert [link["event_type"] for link in chain][-1] in ("BarClosed", "SignalGenerated")
    state = viewer.get("/api/v1/audit/state", params={"at": fill["event_time"]}).json()
    assert state["events"] > 0 and state["positions"]
    status = viewer.get("/api/v1/runs/bt-api/status").json()
    assert status["mode"] == "backtest" and status["kill_switch_engaged"] is False


def test_health_reports_each_read_models_lag(viewer: TestClient) -> None:
    health = viewer.get("/api/v1/system/health").json()
    assert health["event_store"]["status"] == "ok"
    assert health["read_models"]["sql"]["lag"] == 0
