"""What the routes share: the application, the key store, the rate limiter, the sessions and
backtest jobs, and one engine on the SQL read model (thread-safe, pooled, opened when first
needed). Routes reach it with ``Depends(context)``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine

from api.application.api_keys import ApiKeyStore
from api.application.backtest_jobs import BacktestJobs
from api.application.bootstrap import App
from api.application.children import Children
from api.application.sessions import Sessions
from api.http.ratelimit import RateLimiter
from infra.eventstore.store import EventStore
from projections.sql.projection import SqlProjection


@dataclass
class HttpContext:
    app: App
    keys: ApiKeyStore
    limiter: RateLimiter
    sessions: Sessions
    jobs: BacktestJobs
    _sql: SqlProjection | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, app: App, keys: ApiKeyStore, limiter: RateLimiter) -> HttpContext:
        children = Children()
        return cls(
            app,
            keys,
            limiter,
            Sessions(app.settings, children=children),
            BacktestJobs(app.settings, children=children),
        )

    def sql(self) -> Engine:
        """The SQL read model's engine (read only: the API never writes a read model)."""
        with self._lock:
            if self._sql is None:
                self._sql = SqlProjection.open(self.app.settings.stores.sql_url, read_only=True)
            return self._sql.engine

    @contextmanager
    def store(self, *, read_only: bool = True) -> Iterator[EventStore]:
        with self.app.event_store(read_only=read_only) as store:
            yield store

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()
            self._sql = None


def context(request: Request) -> HttpContext:
    found: HttpContext = request.app.state.lh
    return found
