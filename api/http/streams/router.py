"""The WebSocket endpoints: ``/ws/events``, ``/ws/orders``, ``/ws/positions``,
``/ws/performance``, ``/ws/alerts`` and ``/ws/market/{symbol}`` (see docs/streams.md).

Every endpoint takes the API key (``Authorization: Bearer KEY``, ``X-API-Key`` or, since
browsers cannot set headers on a WebSocket, ``?key=KEY``), an optional ``after=POSITION`` to
resume from, and the filters ``run`` and ``account``. Refusals are sent as close codes after
the handshake, where a client can read them: 4401 no key, 4403 a key not accepted (or revoked
while connected: the key is checked again every ``recheck_seconds``), 4429 the key's rate limit
(a connect counts as one request), 4400 a bad parameter; 4008 a client too slow to keep up,
1011 the event store failing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from anyio import to_thread
from fastapi import APIRouter, WebSocket

from api.http.streams.delivery import StreamRequest, serve_client
from api.http.streams.hub import STORE_FAILED, Closing, Hubs, HubUnavailableError, StoreOpener
from api.http.streams.topics import ALERTS, EVENTS, ORDERS, PERFORMANCE, POSITIONS, Topic, market

Authenticate = Callable[[str], object | None]
Admit = Callable[[object], float]  # a principal -> seconds until it may connect (0: now)

NO_KEY = 4401
KEY_REFUSED = 4403
BAD_REQUEST = 4400
RATE_LIMITED = 4429


class _RefusedError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def presented_key(websocket: WebSocket) -> str | None:
    """The API key the client sent, from a header or the ``key`` query parameter."""
    authorization = websocket.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return websocket.headers.get("x-api-key") or websocket.query_params.get("key") or None


def resume_position(websocket: WebSocket) -> int | None:
    """``after=POSITION`` (a global position, 0 for the whole log); ``None`` if absent."""
    raw = websocket.query_params.get("after")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise _RefusedError(BAD_REQUEST, f"after must be a position (0 or more), not {raw[:40]!r}")
    return int(raw)


def stream_router(
    store_opener: StoreOpener,
    authenticate: Authenticate,
    *,
    queue_limit: int = 10_000,
    poll_seconds: float = 0.1,
    batch_size: int = 1_000,
    cache_size: int = 10_000,
    admit: Admit | None = None,
    recheck_seconds: float = 1.0,
) -> APIRouter:
    """The WebSocket routes, fed by one reader of the store ``store_opener`` opens (for
    instance ``App.event_store``). ``authenticate`` maps a key to its principal, ``None``
    for a key it does not accept. A client more than ``queue_limit`` events behind is
    disconnected; ``poll_seconds`` is how often an embedded (SQLite) store is polled; the
    messages of the last ``cache_size`` events are kept for clients catching up. ``admit``
    (the API's per-key rate limiter) is asked once per connect; a connected client's key is
    authenticated again every ``recheck_seconds``."""
    hubs = Hubs(
        store_opener, poll_seconds=poll_seconds, batch_size=batch_size, cache_size=cache_size
    )

    async def stream(websocket: WebSocket, topic: Topic) -> None:
        await websocket.accept()
        try:
            key = await _authorize(websocket, authenticate, admit)
            params = websocket.query_params
            request = StreamRequest(
                wanted=topic.selector(run=params.get("run"), account=params.get("account")),
                types=topic.types,
                after=resume_position(websocket),
                queue_limit=queue_limit,
            )
            async with hubs.using() as hub:
                await serve_client(websocket, hub, request, watchdog=lambda: _revoked(key))
        except _RefusedError as refused:
            await websocket.close(refused.code, refused.reason)
        except HubUnavailableError as failed:
            await websocket.close(STORE_FAILED, str(failed)[:120])

    router = APIRouter()
    for path, topic in (
        ("/ws/events", EVENTS),
        ("/ws/orders", ORDERS),
        ("/ws/positions", POSITIONS),
        ("/ws/performance", PERFORMANCE),
        ("/ws/alerts", ALERTS),
    ):
        router.add_api_websocket_route(path, _endpoint(stream, topic), name=f"ws_{topic.name}")

    @router.websocket("/ws/market/{symbol}", name="ws_market")
    async def market_stream(websocket: WebSocket, symbol: str) -> None:
        await stream(websocket, market(symbol))

    async def _revoked(key: str) -> Closing:
        """Returns once ``key`` is no longer accepted (revoked while its client listens)."""
        while True:
            await anyio.sleep(recheck_seconds)
            if await to_thread.run_sync(authenticate, key) is None:
                return Closing(KEY_REFUSED, "API key revoked")

    return router


def _endpoint(
    stream: Callable[[WebSocket, Topic], Awaitable[None]], topic: Topic
) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        await stream(websocket, topic)

    return endpoint


async def _authorize(websocket: WebSocket, authenticate: Authenticate, admit: Admit | None) -> str:
    """The key the client presented, once it is accepted and within its rate limit."""
    key = presented_key(websocket)
    if key is None:
        raise _RefusedError(NO_KEY, "no API key: send Authorization: Bearer KEY or ?key=KEY")
    principal = await to_thread.run_sync(authenticate, key)
    if principal is None:
        raise _RefusedError(KEY_REFUSED, "API key not accepted")
    if admit is not None and admit(principal) > 0:
        raise _RefusedError(RATE_LIMITED, "this key's rate limit is reached; retry later")
    return key
