"""Hot reads answered before FastAPI's routing and dependency solving: a ``GET`` of
``/system/status``, or of a read route whose exact path and query string the response cache
holds, with a valid key within its rate limit, is answered here from the worker's shared
version read. Anything else (no or bad key, a cache miss, a failing store) goes on to the
routes unchanged, which answer it exactly as before (a principal admitted here is handed on,
so its request is not counted twice against the rate limit)."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.cached import cache_key
from api.http.context import HttpContext

STATUS = "/api/v1/system/status"
CACHED = frozenset({"/api/v1/positions", "/api/v1/orders", "/api/v1/trades", "/api/v1/performance"})
_HEADERS = [(b"content-type", b"application/json")]


def presented_key(scope: Scope) -> str | None:
    """The key from ``Authorization: Bearer KEY`` or else ``X-API-Key``, as the routes read it."""
    headers: dict[bytes, bytes] = dict(scope["headers"])
    scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials
    header = headers.get(b"x-api-key")
    return header.decode("latin-1") if header else None


class FastPath:
    def __init__(self, app: ASGIApp, lh: HttpContext) -> None:
        self.app = app
        self.lh = lh

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" and scope["method"] == "GET" else ""
        if path == STATUS or (path in CACHED and self.lh.responses.has(cache_key(scope))):
            body = await self._answer(scope, path)
            if body is not None:
                headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, path: str) -> bytes | None:
        key = presented_key(scope)
        principal = self.lh.keys.authenticate(key) if key else None
        if principal is None or self.lh.limiter.take(principal.key_id) > 0:
            return None  # the route answers 401 or 429 (a token is only taken when granted)
        scope.setdefault("state", {})["principal"] = principal
        try:
            if path == STATUS:
                return orjson.dumps((await self.lh.status.current()).body(principal))
            return self.lh.responses.get(cache_key(scope), await self.lh.sql_version.current())
        except Exception:  # the route reports it as a problem
            return None
