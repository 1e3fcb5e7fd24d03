"""The hot reads (issue 13's latency work): cached bodies are never staler than the read model,
the fast path refuses what the routes refuse, each read model is opened once per worker even by
concurrent first requests, and /system/health reuses what is open."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import App, bootstrap
from api.http.app import create_app
from projections.base import Projection
from tests.http.conftest import auth
from tests.http.helpers import record_backtest

READS = ("/api/v1/orders?limit=100", "/api/v1/positions", "/api/v1/trades", "/api/v1/performance")


def run_ids(client: TestClient) -> set[str]:
    return {row["run_id"] for row in client.get("/api/v1/performance").json()["items"]}


def test_a_cached_read_is_never_staler_than_the_read_model(
    client: TestClient, role_keys: dict[Role, str], tmp_path: Path
) -> None:
    client.headers.update(auth(role_keys[Role.VIEWER]))
    record_backtest(tmp_path, "bt-first")
    first = {path: client.get(path) for path in READS}
    assert all(answer.status_code == 200 for answer in first.values())
    assert {path: client.get(path).content for path in READS} == {
        path: answer.content for path, answer in first.items()
    }  # served again from the cache: the same bytes
    head = client.get("/api/v1/system/status").json()["event_store"]["head"]
    every_order = len(client.get("/api/v1/orders?limit=1000").json()["items"])

    record_backtest(tmp_path, "bt-second")  # append, then project: the very next GET shows it

    assert run_ids(client) == {"bt-first", "bt-second"}
    assert len(client.get("/api/v1/orders?limit=1000").json()["items"]) > every_order
    assert all(client.get(path).content != first[path].content for path in READS)
    assert client.get("/api/v1/system/status").json()["event_store"]["head"] > head


def test_the_fast_path_refuses_what_the_routes_refuse(
    role_keys: dict[Role, str], tmp_path: Path
) -> None:
    record_backtest(tmp_path)
    keys = ApiKeyStore()
    record, key = keys.create("limited", Role.VIEWER)
    with TestClient(create_app(bootstrap(), rate=0.001, burst=3)) as client:
        path = "/api/v1/positions"
        assert client.get(path, headers=auth(key)).status_code == 200  # cached now
        assert client.get(path, headers={"X-API-Key": key}).status_code == 200  # from the cache
        assert client.get(path).status_code == 401
        assert client.get(path, headers=auth(key + "x")).status_code == 401
        assert client.get("/api/v1/system/status", headers=auth(key)).status_code == 200
        limited = client.get(path, headers=auth(key))
        assert limited.status_code == 429 and limited.headers["retry-after"]
        assert limited.headers["content-type"] == "application/problem+json"
        viewer = role_keys[Role.VIEWER]
        assert client.get(path, headers=auth(viewer)).status_code == 200
        keys.revoke(record.key_id)
        keys.revoke(ApiKeyStore().records()[0].key_id)  # the viewer key
        assert client.get(path, headers=auth(viewer)).status_code == 401


class CountingApp(App):
    """The real application, counting how often each read model is opened."""

    opened: dict[str, int]

    def read_models(
        self, only: Any = None, *, create: bool = False, read_only: bool = False
    ) -> list[Projection]:
        models = super().read_models(only, create=create, read_only=read_only)
        for model in models:
            self.opened[model.name] = self.opened.get(model.name, 0) + 1
        return models


def counting_app() -> CountingApp:
    plain = bootstrap()
    app = CountingApp(
        plain.settings, venues=plain.venues, clocks=plain.clock, store=None, objects=None
    )
    app.opened = {}
    return app


@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_first_requests_open_each_read_model_once(
    role_keys: dict[Role, str], attempt: int
) -> None:
    app = counting_app()
    answers: list[tuple[str, int, Any]] = []
    with TestClient(create_app(app, rate=0), headers=auth(role_keys[Role.VIEWER])) as client:
        start = threading.Barrier(8)

        def first(path: str) -> None:
            start.wait()
            answer = client.get(path)
            answers.append((path, answer.status_code, answer.json()))

        paths = ["/api/v1/system/health", "/api/v1/positions"] * 4
        threads = [threading.Thread(target=first, args=(path,)) for path in paths]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(status == 200 for _, status, _ in answers), answers
        health = [body for path, _, body in answers if path.endswith("health")]
        assert all(body["status"] == "ok" for body in health), health
        assert set(app.opened.values()) == {1}, app.opened
        opened = dict(app.opened)
        for _ in range(3):  # health asks the open read models again: nothing is reopened
            assert client.get("/api/v1/system/health").json()["status"] == "ok"
        assert app.opened == opened
