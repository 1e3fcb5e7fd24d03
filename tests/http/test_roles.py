"""Each role against each route: the table below is the security contract, and a route
added without a rule (or with another one) fails ``test_every_route_has_its_rule``."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.application.api_keys import Role
from api.application.bootstrap import bootstrap
from api.http.app import create_app, route_roles
from tests.http.conftest import KEY_ROLES, auth

V, T, A = Role.VIEWER, Role.TRADER, Role.ADMIN
EXPECTED: dict[tuple[str, str], Role] = {
    ("POST", "/api/v1/system/start"): A,
    ("POST", "/api/v1/system/stop"): A,
    ("GET", "/api/v1/system/status"): V,
    ("GET", "/api/v1/system/health"): V,
    ("GET", "/api/v1/strategies"): V,
    ("POST", "/api/v1/strategies"): A,
    ("PUT", "/api/v1/strategies/{session_id}"): A,
    ("DELETE", "/api/v1/strategies/{session_id}"): A,
    ("POST", "/api/v1/strategies/{session_id}/start"): T,
    ("POST", "/api/v1/strategies/{session_id}/stop"): T,
    ("GET", "/api/v1/strategies/{session_id}/performance"): V,
    ("GET", "/api/v1/positions"): V,
    ("GET", "/api/v1/orders"): V,
    ("GET", "/api/v1/trades"): V,
    ("GET", "/api/v1/performance"): V,
    ("POST", "/api/v1/backtest"): T,
    ("GET", "/api/v1/backtest/{job_id}/status"): V,
    ("GET", "/api/v1/backtest/{job_id}/results"): V,
    ("DELETE", "/api/v1/backtest/{job_id}"): T,
    ("POST", "/api/v1/risk/kill-switch"): T,
    ("POST", "/api/v1/risk/trading-state"): T,
    ("POST", "/api/v1/risk/limits"): A,
    ("POST", "/api/v1/orders/{order_id}/cancel"): T,
    ("GET", "/api/v1/runs/{run}/status"): V,
    ("GET", "/api/v1/risk/metrics"): V,
    ("GET", "/api/v1/risk/alerts"): V,
    ("GET", "/api/v1/audit/trace"): V,
    ("GET", "/api/v1/audit/state"): V,
    ("GET", "/api/v1/reports"): V,
    ("GET", "/api/v1/reports/{key}"): V,
    ("GET", "/api/v1/keys"): A,
    ("POST", "/api/v1/keys"): A,
    ("DELETE", "/api/v1/keys/{key_id}"): A,
}
ROUTES = sorted(EXPECTED)


def test_every_route_has_its_rule() -> None:
    api = create_app(bootstrap())
    served = {(method, path.replace("{key:path}", "{key}")) for (method, path) in route_roles()}
    paths = {path.replace("{key:path}", "{key}") for path in api.openapi()["paths"]}
    assert served == set(EXPECTED)
    assert {path for _, path in EXPECTED} == paths  # no route escapes the guard


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "nothing-here", path)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_request_without_a_valid_key_is_refused(
    client: TestClient, method: str, path: str
) -> None:
    for headers in ({}, auth("lh_0000_not-a-key"), {"X-API-Key": "nope"}):
        answer = client.request(method, _url(path), headers=headers, json={})
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_each_role_reaches_exactly_its_routes(
    client: TestClient, role_keys: dict[Role, str], method: str, path: str
) -> None:
    required = EXPECTED[(method, path)]
    for role in KEY_ROLES:
        answer = client.request(method, _url(path), headers=auth(role_keys[role]), json={})
        if role < required:
            assert answer.status_code == 403, (role, answer.text)
            assert answer.json()["title"] == "Forbidden"
        else:
            assert answer.status_code not in (401, 403, 500), (role, answer.text)
