"""``create_app(app) -> FastAPI``: the REST API under ``/api/v1`` and the WebSocket streams
under ``/ws`` (``api.http.streams``) over one ``App``; Prometheus metrics at ``/metrics``.

Every route requires a role (``api.http.auth``); reads go through the read side
(``projections.queries``) and the log, commands through ``api.application``. CORS is off
unless origins are given; errors are ``application/problem+json`` (``api.http.problems``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from api.application.api_keys import ApiKeyStore
from api.application.bootstrap import App
from api.http import problems
from api.http.auth import RoleGuard
from api.http.context import HttpContext
from api.http.fastpath import FastPath
from api.http.ratelimit import RateLimiter
from api.http.routes import audit, backtest, keys, risk, strategies, system, trading
from api.http.security import Role
from api.http.streams import stream_router
from infra.observability.exposition import metrics_app

PREFIX = "/api/v1"
ROUTERS = (system, strategies, trading, backtest, risk, audit, keys)
DEFAULT_RATE = 50.0  # requests a second per key, on average
DEFAULT_BURST = 200


def create_app(
    app: App,
    *,
    keys: ApiKeyStore | None = None,
    cors_origins: Sequence[str] = (),
    rate: float = DEFAULT_RATE,
    burst: int = DEFAULT_BURST,
) -> FastAPI:
    """The API over ``app``; ``rate`` <= 0 turns the per-key rate limit off."""
    context = HttpContext.build(app, keys or ApiKeyStore(), RateLimiter(rate, burst))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    api = FastAPI(
        title="LiangHua API",
        version="1",
        description="Event-sourced trading: sessions, backtests, risk and audit. "
        "Authenticate with `Authorization: Bearer KEY` (`lh keys api create`).",
        lifespan=lifespan,
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    api.state.lh = context
    problems.install(api)
    for module in ROUTERS:
        api.include_router(module.router, prefix=PREFIX, responses=problems.PROBLEM_RESPONSES)
    api.include_router(
        stream_router(
            lambda: app.event_store(read_only=True),
            context.keys.authenticate,
            admit=context.admit,
        )
    )
    api.mount("/metrics", metrics_app())
    api.add_middleware(FastPath, lh=context)  # inside CORS, when CORS is on
    if cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    return api


def route_roles() -> dict[tuple[str, str], Role]:
    """(method, path) -> the role each route of the API requires, read from its guard."""
    found: dict[tuple[str, str], Role] = {}
    for module in ROUTERS:
        for route in module.router.routes:
            if not isinstance(route, APIRoute):
                continue
            calls = [dependency.call for dependency in route.dependant.dependencies]
            guards = [call for call in calls if isinstance(call, RoleGuard)]
            for method in route.methods or ():
                if guards:
                    found[(method, PREFIX + route.path)] = guards[0].role
    return found
