"""The WebSocket streams against the API's own key store: a key revoked while its client
listens is cut off (4403), and connecting counts against the key's rate limit (4429)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from api.http.app import create_app
from tests.http.conftest import auth
from tests.http.stream_support import heartbeat, record


def test_a_key_revoked_while_connected_is_closed_with_4403() -> None:
    keys = ApiKeyStore()
    made, key = keys.create("listener", Role.VIEWER)
    app = bootstrap()
    with app.event_store() as store:  # recorded first: no second writer while the API runs
        position = record(store, heartbeat("listening"))
    with (
        TestClient(create_app(app, rate=0)) as client,
        client.websocket_connect(f"/ws/events?key={key}&after=0") as ws,
    ):
        assert ws.receive_json()["position"] == position  # connected and streaming
        keys.revoke(made.key_id)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403
    assert "revoked" in closed.value.reason


def test_websocket_connects_count_against_the_keys_rate_limit() -> None:
    key = ApiKeyStore().create("busy", Role.VIEWER)[1]
    with TestClient(create_app(bootstrap(), rate=0.001, burst=2)) as client:
        assert client.get("/api/v1/system/status", headers=auth(key)).status_code == 200
        with client.websocket_connect(f"/ws/events?key={key}"):
            pass  # the second token
        with (
            client.websocket_connect(f"/ws/orders?key={key}") as ws,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            ws.receive_json()
        assert closed.value.code == 4429
        assert client.get("/api/v1/system/status", headers=auth(key)).status_code == 429
