"""A read endpoint's answer from the response cache while the SQL read model has not moved.

The version is read (``HttpContext.sql_version``) before the body is built, so a body is
never older than the version it is filed under, and a request is only ever served a body built
at the version it read after it arrived: never staler than the read model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from anyio import to_thread
from fastapi import Request, Response
from starlette.types import Scope

from api.http.context import HttpContext

JSON = "application/json"


def cache_key(scope: Scope) -> tuple[str, bytes]:
    """What a read route's response is cached under: its path and exact query string."""
    return scope["path"], scope["query_string"]


async def cached_read(lh: HttpContext, request: Request, build: Callable[[], Any]) -> Response:
    """``build()`` (run in a worker thread) as JSON, or the same bytes as last time when the
    read model is where it was then; keyed by the route and its query string."""
    version = await lh.sql_version.current()
    key = cache_key(request.scope)
    body = lh.responses.get(key, version)
    if body is None:
        body = orjson.dumps(await to_thread.run_sync(build))
        lh.responses.put(key, version, body)
    return Response(body, media_type=JSON)
