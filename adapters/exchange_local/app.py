"""The HTTP face of the local exchange: Binance spot v3 routes on a small Starlette app, with
the configured faults applied to every request before (or, for a lost response, after) it is
handled."""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.exchange_local import errors, wire
from adapters.exchange_local.book import Book, OrderRequest
from adapters.exchange_local.errors import ExchangeRefusalError
from adapters.exchange_local.faults import FaultDice, FaultSpec
from adapters.exchange_local.signing import check_signed
from domain.events.types import Side

Params = dict[str, str]
Handler = Callable[[Params], object]
INTERVALS_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
DAY_MS = 86_400_000
TRADES_LIMIT = 1000
"""Binance's most rows of an account trade query."""
CLIENT_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:/_-")


DROP = "lh.drop_connection"
"""Set in a request's scope by a fault: the connection is cut instead of answered."""


class DroppedConnection(Response):
    """No answer at all: ``ConnectionDropper`` closes the connection instead."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[DROP] = True
        await send({"type": "http.response.start", "status": 500, "headers": []})


class ConnectionDropper:
    """The outermost ASGI layer: cuts the TCP connection of a request a fault marked, as a
    network failure would (uvicorn's ``send`` belongs to the cycle that holds the transport;
    without it the answer is broken off mid-body instead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        cut = False

        async def guarded(message: Message) -> None:
            nonlocal cut
            if cut:
                return
            if scope.get(DROP):
                cut = True
                if transport is not None:
                    transport.abort()
                    return
                headers = [(b"content-length", b"4096")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                return
            await send(message)

        await self.app(scope, receive, guarded)


@dataclass
class LocalExchange:
    """The exchange's state, credentials and faults; ``app`` serves them over HTTP."""

    book: Book
    api_key: str
    secret: str
    faults: FaultSpec = field(default_factory=FaultSpec)
    wall_ms: Callable[[], int] = field(default=lambda: int(time.time() * 1000))
    restarts: int = 0

    def __post_init__(self) -> None:
        self.dice = FaultDice(self.faults)
        self._open_times_ms = {
            symbol: [bar.time_us // 1000 for bar in market.bars]
            for symbol, market in self.book.markets.items()
        }
        self._started = time.monotonic()
        self._timed_restarts = 0
        self._lock = asyncio.Lock()
        public: dict[str, Handler] = {
            "ping": lambda _: {},
            "time": lambda _: {"serverTime": self.wall_ms()},
            "exchangeInfo": lambda _: wire.exchange_info(self.book, self.wall_ms()),
            "klines": self._klines,
        }
        signed: dict[tuple[str, str], Handler] = {
            ("POST", "order"): self._new_order,
            ("DELETE", "order"): self._cancel_order,
            ("GET", "order"): self._get_order,
            ("GET", "openOrders"): self._open_orders,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "account"): lambda _: wire.account(self.book, self.wall_ms()),
        }
        routes = [
            Route(f"/api/v3/{path}", self._endpoint(handler, signed=False), methods=["GET"])
            for path, handler in public.items()
        ]
        by_path: dict[str, dict[str, Handler]] = {}
        for (method, path), handler in signed.items():
            by_path.setdefault(path, {})[method] = handler
        routes += [
            Route(f"/api/v3/{path}", self._signed_endpoint(methods), methods=list(methods))
            for path, methods in by_path.items()
        ]
        routes += [
            Route("/local/state", self._state, methods=["GET"]),
            Route("/local/restart", self._restart, methods=["POST"]),
        ]
        self.app = ConnectionDropper(Starlette(routes=routes))

    def restart_losing_open_orders(self) -> int:
        """The restart fault, on demand: every working order is forgotten."""
        self.restarts += 1
        return len(self.book.lose_open_orders())

    def _endpoint(self, handler: Handler, *, signed: bool) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handler, signed)

        return endpoint

    def _signed_endpoint(self, methods: dict[str, Handler]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, methods[request.method], True)

        return endpoint

    async def _serve(self, request: Request, handler: Handler, signed: bool) -> Response:
        if self.faults.latency_s:
            await asyncio.sleep(self.faults.latency_s)
        async with self._lock:
            self._restart_when_due()
            if self.dice.strikes("drop"):
                return DroppedConnection()
            if self.dice.strikes("http429"):
                refusal = ExchangeRefusalError(
                    errors.TOO_MANY_REQUESTS, "Too many requests; slow down.", status=429
                )
                return JSONResponse(refusal.body(), status_code=429)
            if self.dice.strikes("http5xx"):
                return PlainTextResponse("Service Unavailable", status_code=503)
            body = (await request.body()).decode()
            params = dict(parse_qsl(request.url.query)) | dict(parse_qsl(body))
            try:
                if signed:
                    check_signed(
                        api_key_header=request.headers.get("x-mbx-apikey"),
                        query=request.url.query,
                        body=body,
                        params=params,
                        api_key=self.api_key,
                        secret=self.secret,
                        server_ms=self.wall_ms(),
                    )
                self.book.advance()
                answer = handler(params)
            except ExchangeRefusalError as refusal:
                return JSONResponse(refusal.body(), status_code=refusal.status)
            if handler == self._new_order and self.dice.strikes("lost_response"):
                return DroppedConnection()
            return JSONResponse(answer)

    def _restart_when_due(self) -> None:
        after = self.faults.restart_after_s
        if after is None or (self._timed_restarts and not self.faults.restart_repeats):
            return
        if time.monotonic() - self._started >= after * (self._timed_restarts + 1):
            self._timed_restarts += 1
            self.restart_losing_open_orders()

    def _klines(self, params: Params) -> object:
        market = self.book.market(_required(params, "symbol"))
        interval = INTERVALS_MS.get(_required(params, "interval"))
        if interval is None or interval * 1000 != market.interval_us:
            raise ExchangeRefusalError(errors.BAD_INTERVAL, "Invalid interval.")
        limit = min(_whole(params, "limit", 500), 1000)
        shown = self.book.shown_bars(market.symbol)
        times = self._open_times_ms[market.symbol]
        visible = min(shown + 1, len(times))  # the closed bars and the one forming
        first = bisect_left(times, _whole(params, "startTime", 0), 0, visible)
        last = bisect_right(times, _whole(params, "endTime", 2**62), first, visible)
        if "startTime" in params:
            last = min(last, first + limit)
        else:
            first = max(first, last - limit)
        return [
            _kline(times[index], interval, market.bars[index])
            if index < shown
            else _forming_kline(times[index], interval, market.bars[index].open)
            for index in range(first, last)
        ]

    def _new_order(self, params: Params) -> object:
        symbol = _required(params, "symbol")
        kind = _required(params, "type")
        if kind not in wire.ORDER_TYPES:
            raise ExchangeRefusalError(
                errors.ORDER_REJECTED, f"Order type {kind} is not supported."
            )
        side = _required(params, "side")
        if side not in ("BUY", "SELL"):
            raise ExchangeRefusalError(
                errors.BAD_PARAMETER, "Parameter 'side' must be BUY or SELL."
            )
        client_id = params.get("newClientOrderId") or f"local-{len(self.book.orders) + 1}"
        if len(client_id) > 36 or not set(client_id) <= CLIENT_ID_CHARS:
            raise ExchangeRefusalError(
                errors.BAD_PARAMETER, "Illegal characters in newClientOrderId."
            )
        request = OrderRequest(
            symbol=symbol,
            side=Side(side),
            order_type=kind,
            quantity=_decimal(params, "quantity", required=True) or Decimal(0),
            price=_decimal(params, "price", required=kind == "LIMIT"),
            stop_price=_decimal(params, "stopPrice", required=kind == "STOP_LOSS"),
            time_in_force=params.get("timeInForce", "GTC"),
            client_order_id=client_id,
        )
        return wire.new_order(self.book.place(request))

    def _find(self, params: Params) -> Any:
        order_id = params.get("orderId")
        return self.book.find(
            _required(params, "symbol"),
            int(order_id) if order_id and order_id.isdigit() else None,
            params.get("origClientOrderId"),
        )

    def _cancel_order(self, params: Params) -> object:
        try:
            order = self._find(params)
        except ExchangeRefusalError:
            raise ExchangeRefusalError(errors.CANCEL_REJECTED, "Unknown order sent.") from None
        answer = wire.order(self.book.cancel(order))
        answer["origClientOrderId"] = order.client_order_id
        answer["transactTime"] = self.book.stamp_now()
        return answer

    def _get_order(self, params: Params) -> object:
        return wire.order(self._find(params))

    def _open_orders(self, params: Params) -> object:
        symbol = params.get("symbol")
        if symbol is not None:
            self.book.market(symbol)
        return [wire.order(order) for order in self.book.open_orders(symbol)]

    def _my_trades(self, params: Params) -> object:
        """Binance's account trade list: ``limit`` 1..1000 (500 by default); ``fromId`` (from
        that trade id on) goes with no time bound; ``startTime..endTime`` spans 24 hours at
        most, one bound alone meaning the 24 hours after or before it; with neither bound nor
        ``fromId``, the most recent trades."""
        symbol = self.book.market(_required(params, "symbol")).symbol
        limit = _whole(params, "limit", 500)
        if not 1 <= limit <= TRADES_LIMIT:
            raise ExchangeRefusalError(
                errors.BAD_VALUE, "Data sent for parameter 'limit' is not valid."
            )
        timed = "startTime" in params or "endTime" in params
        if timed and "fromId" in params:
            raise ExchangeRefusalError(
                errors.BAD_COMBINATION, "Combination of optional parameters invalid."
            )
        start, end = _trade_window(params)
        from_id = _whole(params, "fromId", 0)
        order_id = params.get("orderId")
        rows = [
            wire.trade(execution)
            for execution in self.book.executions
            if execution.symbol == symbol
            and start <= execution.time_ms <= end
            and execution.trade_id >= from_id
            and (order_id is None or str(execution.order_id) == order_id)
        ]
        rows = rows[:limit] if timed or "fromId" in params else rows[-limit:]
        if rows and self.dice.strikes("duplicate_fills"):
            rows.insert(self.dice.pick(len(rows) + 1), rows[self.dice.pick(len(rows))])
        if len(rows) > 1 and self.dice.strikes("reorder_fills"):
            rows.reverse()
        return rows

    async def _state(self, request: Request) -> Response:
        """Everything the exchange holds, for tests and soak checks (not a Binance route)."""
        async with self._lock:
            self.book.advance()
            return JSONResponse(
                {
                    "orders": [wire.order(order) for order in self.book.orders.values()],
                    "lost_orders": [wire.order(order) for order in self.book.lost_orders],
                    "trades": [wire.trade(execution) for execution in self.book.executions],
                    "balances": {a: wire.amount(v) for a, v in self.book.balances.items()},
                    "faults": self.dice.counts,
                    "restarts": self.restarts,
                    "market_time_ms": self.book.now_ms(),
                }
            )

    async def _restart(self, request: Request) -> Response:
        async with self._lock:
            return JSONResponse({"lost": self.restart_losing_open_orders()})


def _kline(open_ms: int, interval: int, bar: Any) -> list[object]:
    return [
        open_ms,
        wire.amount(bar.open),
        wire.amount(bar.high),
        wire.amount(bar.low),
        wire.amount(bar.close),
        wire.amount(bar.volume),
        open_ms + interval - 1,
        wire.amount(bar.close * bar.volume),
        1,
        "0",
        "0",
        "0",
    ]


def _forming_kline(open_ms: int, interval: int, price: Decimal) -> list[object]:
    """The bar still forming: only its open is known yet."""
    price_text = wire.amount(price)
    zero = wire.amount(None)
    return [open_ms, price_text, price_text, price_text, price_text, zero,
            open_ms + interval - 1, zero, 0, "0", "0", "0"]  # fmt: skip


def _trade_window(params: Params) -> tuple[int, int]:
    """The ``startTime..endTime`` of a trade query (ms, inclusive), refused beyond 24 hours."""
    start = _whole(params, "startTime", 0) if "startTime" in params else None
    end = _whole(params, "endTime", 0) if "endTime" in params else None
    if start is None:
        return (0, 2**62) if end is None else (end - DAY_MS, end)
    if end is None:
        return start, start + DAY_MS
    if end - start > DAY_MS:
        raise ExchangeRefusalError(
            errors.BAD_INTERVAL_LENGTH, "More than 24 hours between startTime and endTime."
        )
    return start, end


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not value:
        raise ExchangeRefusalError(
            errors.MANDATORY_PARAMETER, f"Mandatory parameter '{name}' was not sent."
        )
    return value


def _whole(params: Params, name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not text.lstrip("-").isdigit():
        raise ExchangeRefusalError(
            errors.BAD_PARAMETER, f"Parameter '{name}' must be a whole number."
        )
    return int(text)


def _decimal(params: Params, name: str, *, required: bool) -> Decimal | None:
    text = params.get(name)
    if text is None:
        if required:
            _required(params, name)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ExchangeRefusalError(errors.BAD_PARAMETER, f"Parameter '{name}' is not a number.")
    return value
