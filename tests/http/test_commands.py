"""Commands, jobs, keys, limits and CORS through the API (in process)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from api.http.app import create_app
from tests.http.conftest import auth
from tests.http.helpers import bars_file, record_backtest

PROBLEM = "application/problem+json"


def test_a_backtest_takes_no_operator_requests(
    client: TestClient, role_keys: dict[Role, str], tmp_path: Path
) -> None:
    record_backtest(tmp_path)
    trader = auth(role_keys[Role.TRADER])
    body = {"run": "bt-api", "action": "engage", "reason": "drill"}
    answer = client.post("/api/v1/risk/kill-switch", json=body, headers=trader)
    assert answer.status_code == 409 and answer.headers["content-type"] == PROBLEM
    assert "backtest" in answer.json()["detail"]
    unknown = client.post("/api/v1/risk/kill-switch", json=body | {"run": "nope"}, headers=trader)
    assert unknown.status_code == 404 and unknown.json()["title"] == "Unknown run"
    state = {"run": "bt-api", "state": "SIDEWAYS", "reason": "x"}
    bad = client.post("/api/v1/risk/trading-state", json=state, headers=trader)
    assert bad.status_code == 422 and "unknown trading state" in bad.json()["detail"]
    limit = {"run": "bt-api", "name": "max_position", "value": "-3", "reason": "x"}
    refused = client.post("/api/v1/risk/limits", json=limit, headers=auth(role_keys[Role.ADMIN]))
    assert refused.status_code == 422
    extra = client.post("/api/v1/risk/kill-switch", json=body | {"operator": "eve"}, headers=trader)
    assert extra.status_code == 422  # the operator is the key's owner, never the body's


def test_backtest_job_lifecycle(
    client: TestClient, role_keys: dict[Role, str], tmp_path: Path
) -> None:
    trader = auth(role_keys[Role.TRADER])
    body = {"data": str(bars_file(tmp_path)), "strategy": "sma_cross", "run_id": "bt-job"}
    submitted = client.post("/api/v1/backtest", json=body, headers=trader)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()["job_id"]
    deadline = time.monotonic() + 90
    while (status := client.get(f"/api/v1/backtest/{job}/status", headers=trader).json())[
        "status"
    ] == "running":
        early = client.get(f"/api/v1/backtest/{job}/results", headers=trader)
        assert early.status_code in (200, 409)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == {"job_id": job, "status": "succeeded", "returncode": 0, "error": None,
                      "requested_by": "trader-owner"}  # fmt: skip
    results = client.get(f"/api/v1/backtest/{job}/results", headers=trader).json()
    assert results["run_id"] == "bt-job" and "sharpe" in results["metrics"]
    assert client.delete(f"/api/v1/backtest/{job}", headers=trader).status_code == 204
    gone = client.get(f"/api/v1/backtest/{job}/status", headers=trader)
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM


def test_a_bad_backtest_is_refused_before_it_starts(
    client: TestClient, role_keys: dict[Role, str], tmp_path: Path
) -> None:
    trader = auth(role_keys[Role.TRADER])
    data = str(bars_file(tmp_path))
    for body, words in (
        ({"data": str(tmp_path / "none.csv"), "strategy": "sma_cross"}, "does not exist"),
        ({"data": data, "strategy": "no_such_strategy"}, "no_such_strategy"),
        ({"data": data, "strategy": "sma_cross", "cash": "-5"}, "cash must be positive"),
        ({"data": data, "strategy": "sma_cross", "commission": "2"}, "commission"),
        ({"data": data, "strategy": "sma_cross", "limits": {"nope": "1"}}, "unknown risk limit"),
    ):
        answer = client.post("/api/v1/backtest", json=body, headers=trader)
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]


def test_the_rate_limit_answers_429_with_retry_after(role_keys: dict[Role, str]) -> None:
    with TestClient(create_app(bootstrap(), rate=0.5, burst=2)) as limited:
        viewer = auth(role_keys[Role.VIEWER])
        codes = [limited.get("/api/v1/strategies", headers=viewer).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        answer = limited.get("/api/v1/strategies", headers=viewer)
        assert answer.headers["content-type"] == PROBLEM
        assert int(answer.headers["retry-after"]) >= 1
        other = limited.get("/api/v1/strategies", headers=auth(role_keys[Role.TRADER]))
        assert other.status_code == 200  # the limit is per key


def test_a_store_that_is_down_is_a_503(
    role_keys: dict[Role, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", "redis://:s3cret@127.0.0.1:1/0")
    with TestClient(create_app(bootstrap()), raise_server_exceptions=False) as down:
        answer = down.get("/api/v1/system/status", headers=auth(role_keys[Role.VIEWER]))
        assert answer.status_code == 503 and answer.headers["content-type"] == PROBLEM
        assert "s3cret" not in answer.text
        health = down.get("/api/v1/system/health", headers=auth(role_keys[Role.VIEWER]))
        assert health.status_code == 503 and health.json()["status"] == "down"
        assert "s3cret" not in health.text


def test_keys_through_the_api_and_a_revoked_key(
    client: TestClient, role_keys: dict[Role, str]
) -> None:
    admin = auth(role_keys[Role.ADMIN])
    created = client.post("/api/v1/keys", json={"owner": "kim", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["key_id"]
    listed = client.get("/api/v1/keys", headers=admin)
    assert key not in listed.text and "sha256" not in listed.text
    assert client.get("/api/v1/strategies", headers=auth(key)).status_code == 200
    assert client.delete(f"/api/v1/keys/{key_id}", headers=admin).status_code == 200
    assert client.get("/api/v1/strategies", headers=auth(key)).status_code == 401
    assert key not in Path(ApiKeyStore().path).read_text()


def test_cors_is_off_unless_an_origin_is_given(role_keys: dict[Role, str]) -> None:
    preflight = {"Origin": "https://desk.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(bootstrap())) as closed:
        answer = closed.options("/api/v1/strategies", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    with TestClient(create_app(bootstrap(), cors_origins=["https://desk.example"])) as opened:
        answer = opened.options("/api/v1/strategies", headers=preflight)
        assert answer.headers["access-control-allow-origin"] == "https://desk.example"
