"""What the console asks the API, over HTTP only (it never opens a store or a read model).

``ApiClient.snapshot`` reads everything one screen shows in one round of parallel requests;
``engage_kill_switch`` sends the operator command as the key's owner. Every failure becomes
an ``ApiError`` whose message is one line a person can act on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

API_PREFIX = "/api/v1"
ROWS = 200  # rows per table: what fits on a screen many times over


class ApiError(Exception):
    """A request the API refused or could not answer; the message says why in one line."""


@dataclass(frozen=True)
class Snapshot:
    """One screen's worth of the API's answers."""

    status: dict[str, Any]
    health: dict[str, Any]
    positions: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    open_orders: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def head(self) -> int:
        return int(self.status.get("event_store", {}).get("head", 0))


def base_url(url: str) -> str:
    """The server's root, given with or without the ``/api/v1`` prefix."""
    root = url.rstrip("/")
    return root.removesuffix(API_PREFIX)


def websocket_url(url: str, path: str) -> str:
    root = base_url(url)
    scheme, _, rest = root.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}"


def _problem(response: httpx.Response) -> str:
    """The API's problem+json title and detail, else the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("title"):
        detail = f": {body['detail']}" if body.get("detail") else ""
        return f"{response.status_code} {body['title']}{detail}"
    return f"{response.status_code} {response.reason_phrase}"


class ApiClient:
    """The API at ``url`` with the key ``key``; use as ``async with``."""

    def __init__(
        self, url: str, key: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = base_url(url)
        self.key = key
        self._http = httpx.AsyncClient(
            base_url=self.url + API_PREFIX,
            headers={"Authorization": f"Bearer {key}"},
            timeout=10.0,
            transport=transport,
        )

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiError(f"cannot reach {self.url}: {error or type(error).__name__}") from None
        if response.status_code == 401:
            raise ApiError(
                "the API refused the key (401): check the key and that it is not revoked"
            )
        store_down = path == "/system/health" and response.status_code == 503  # still a report
        if response.status_code >= 400 and not store_down:
            raise ApiError(f"{method} {path}: {_problem(response)}")
        return response.json()

    async def _items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        page = await self._call("GET", path, params={"limit": ROWS, **params})
        items: list[dict[str, Any]] = page["items"]
        return items

    async def status(self) -> dict[str, Any]:
        found: dict[str, Any] = await self._call("GET", "/system/status")
        return found

    async def snapshot(self) -> Snapshot:
        status, health, positions, runs, orders = await asyncio.gather(
            self.status(),
            self._call("GET", "/system/health"),
            self._items("/positions"),
            self._items("/performance"),
            self._items("/orders", open_only="true"),
        )
        return Snapshot(status, health, positions, runs, orders)

    async def engage_kill_switch(self, run: str, reason: str) -> dict[str, Any]:
        """Ask run ``run`` to engage its kill switch; the API's acceptance (request id...)."""
        body = {"run": run, "action": "engage", "reason": reason}
        accepted: dict[str, Any] = await self._call("POST", "/risk/kill-switch", json=body)
        return accepted
