"""What the WebSocket stream tests share: stores on both backends, a small app serving the
stream router, events of a run, and a real uvicorn server in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

import uvicorn
from fastapi import FastAPI

from api.application.bootstrap import App
from api.http import security
from api.http.app import create_app
from api.http.streams import stream_router
from domain.events.base import DomainEvent
from domain.events.catalog import (
    BarClosed,
    KillSwitchEngaged,
    OrderFilled,
    OrderIntent,
    OrderSubmitted,
    PortfolioValued,
    RiskDecisionMade,
    VenueConnectionChanged,
)
from domain.events.envelope import Actor, NewEvent
from domain.events.types import ActorKind, OrderType, Side
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.services import free_port, wait_for_port

KEY = "test-key"
_ids = count(1)


def authenticate(key: str) -> object | None:
    return "tester" if key == KEY else None


class StoreAt:
    """Opens the store at ``url`` (a SQLite file or a Redis key prefix), as the app would."""

    def __init__(self, url: str, key_prefix: str = "lh") -> None:
        self.url = url
        self.key_prefix = key_prefix

    def __call__(self) -> AbstractContextManager[EventStore]:
        return closing(open_event_store(self.url, key_prefix=self.key_prefix))


def stream_app(opener: StoreAt, *, queue_limit: int = 10_000) -> FastAPI:
    app = FastAPI()
    app.include_router(
        stream_router(opener, authenticate, queue_limit=queue_limit, poll_seconds=0.02)
    )
    return app


def record(
    store: EventStore, payload: DomainEvent, *, run: str = "run-1", account: str = "a1"
) -> int:
    """Append one event of ``run`` on ``account``; its global position."""
    number = next(_ids)
    event = NewEvent(
        stream_id=f"test-{number}",
        stream_version=1,
        payload=payload,
        event_id=f"{run}:{number}",
        event_time_us=1_700_000_000_000_000 + number,
        actor=Actor(ActorKind.STRATEGY, "s", account),
        correlation_id=run,
    )
    return store.append([event]).positions[0]


def bar(symbol: str) -> BarClosed:
    price = Decimal("100.5")
    return BarClosed(
        symbol=symbol,
        interval="1m",
        open_time=datetime(2026, 1, 1, tzinfo=UTC),
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(3),
    )


def heartbeat(tag: str) -> VenueConnectionChanged:
    return VenueConnectionChanged(venue="sim", connected=True, reason=tag)


def submitted(order_id: str, account: str) -> OrderSubmitted:
    return OrderSubmitted(
        order_id=order_id,
        client_order_id=f"c-{order_id}",
        account=account,
        strategy="s",
        symbol="BTCUSDT",
        side=Side.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.25"),
        decision_id=f"d-{order_id}",
        venue="sim",
    )


def filled(order_id: str) -> OrderFilled:
    return OrderFilled(order_id=order_id, filled_quantity=Decimal("0.25"), average_price=Decimal(1))


def decision(account: str, *, approved: bool) -> RiskDecisionMade:
    intent = OrderIntent(
        client_order_id="c",
        account=account,
        strategy="s",
        symbol="BTCUSDT",
        side=Side.BUY,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
    )
    return RiskDecisionMade(
        decision_id=f"d{next(_ids)}",
        intent=intent,
        approved=approved,
        rules=[],
        order_id="o1" if approved else None,
    )


def kill_switch(account: str) -> KillSwitchEngaged:
    return KillSwitchEngaged(account=account, operator="alice", reason="drill")


def valued(run: str, account: str) -> PortfolioValued:
    money = Decimal("1000.00")
    return PortfolioValued(
        run_id=run,
        account=account,
        strategy="s",
        cash=money,
        positions_value=Decimal(0),
        equity=money,
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
    )


def api_with_streams(app: App) -> FastAPI:
    """What ``lh serve`` serves once the streams are wired in: the REST API of ``app``
    (``create_app``) and the WebSocket routes, authenticated by the API's own key store."""
    api = create_app(app, rate=0)
    api.include_router(
        stream_router(
            lambda: app.event_store(read_only=True), security.authenticate, poll_seconds=0.05
        )
    )
    return api


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by a real uvicorn on a free port; yields its ``ws://`` base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        while not server.started:
            time.sleep(0.01)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
