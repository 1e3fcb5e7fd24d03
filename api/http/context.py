"""What the routes share: the application, the key store, the rate limiter, the sessions and
backtest jobs, and what each worker process keeps open for its whole life: one read-only event
store and each read model, opened once (under one lock: concurrent first requests must not race
through the read model's migrations) and reused by every request. Routes reach it with
``Depends(context)``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, select

from api.application.api_keys import ApiKeyStore, Principal
from api.application.backtest_jobs import BacktestJobs
from api.application.bootstrap import App
from api.application.children import Children
from api.application.sessions import Sessions
from api.http.freshness import ResponseCache, SharedRead
from api.http.ratelimit import RateLimiter
from infra.eventstore.store import EventStore
from projections.base import Projection
from projections.registry import available
from projections.sql.models import CHECKPOINTS
from projections.sql.projection import SqlProjection

SQL = "sql"


@dataclass(frozen=True)
class StatusSnapshot:
    head: int
    configured: int
    running: int

    def body(self, principal: Principal) -> dict[str, Any]:
        """``GET /system/status``'s answer to ``principal``."""
        return {
            "event_store": {"head": self.head},
            "sessions": {"configured": self.configured, "running": self.running},
            "principal": {"owner": principal.owner, "role": principal.role.name.lower()},
        }


@dataclass
class HttpContext:
    app: App
    keys: ApiKeyStore
    limiter: RateLimiter
    sessions: Sessions
    jobs: BacktestJobs
    responses: ResponseCache = field(default_factory=ResponseCache)
    _models: dict[str, Projection] = field(default_factory=dict)
    _store: tuple[EventStore, ExitStack] | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.sql_version: SharedRead[tuple[Any, ...]] = SharedRead(self._sql_version)
        self.status: SharedRead[StatusSnapshot] = SharedRead(self._status)

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

    def admit(self, principal: object) -> float:
        """A WebSocket connect counts against its key's rate limit like a request."""
        return self.limiter.take(principal.key_id) if isinstance(principal, Principal) else 0.0

    def model(self, name: str) -> Projection:
        """The read model ``name``, opened (and migrated) the first time only, read only (the
        API never writes a read model). A failed open is not kept: the next call retries."""
        with self._lock:
            found = self._models.get(name)
            if found is None:
                found = self._models[name] = self.app.read_models([name], read_only=True)[0]
            return found

    def model_names(self) -> list[str]:
        """The read models this build can open (``/system/health`` reports each)."""
        return available()

    def sql(self) -> Engine:
        """The SQL read model's engine (thread-safe, pooled)."""
        model = self.model(SQL)
        assert isinstance(model, SqlProjection)
        return model.engine

    def head(self) -> int:
        """The log's head through this worker's long-lived read-only store; a store that
        fails is dropped, so the next call opens it afresh."""
        with self._lock:
            if self._store is None:
                stack = ExitStack()
                store = stack.enter_context(self.app.event_store(read_only=True))
                self._store = (store, stack)
            store, stack = self._store
        try:
            return store.head()
        except BaseException:
            with self._lock:
                if self._store is not None and self._store[0] is store:
                    self._store = None
                    stack.close()
            raise

    @contextmanager
    def store(self, *, read_only: bool = True) -> Iterator[EventStore]:
        with self.app.event_store(read_only=read_only) as store:
            yield store

    def close(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()
            if self._store is not None:
                self._store[1].close()
                self._store = None

    def _sql_version(self) -> tuple[Any, ...]:
        """The SQL read model's checkpoint row: its position, when it moved and from which
        store (a rebuild to the same position is another version)."""
        query = select(CHECKPOINTS.c.position, CHECKPOINTS.c.updated_at, CHECKPOINTS.c.store_id)
        with self.sql().connect() as connection:
            row = connection.execute(query.where(CHECKPOINTS.c.name == SQL)).first()
        return tuple(row) if row is not None else ()

    def _status(self) -> StatusSnapshot:
        head = self.head()
        sessions = self.sessions.list()
        running = sum(session.state.running for session in sessions)
        return StatusSnapshot(head, len(sessions), running)


async def context(request: Request) -> HttpContext:
    found: HttpContext = request.app.state.lh
    return found
