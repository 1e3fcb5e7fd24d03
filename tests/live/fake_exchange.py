"""A ``LiveVenue`` test double: a tiny exchange with fault knobs (it is a venue, not our storage).

Market orders fill at once at the last price the exchange saw; limit orders rest and fill
when a bar trades through them. ``path`` keeps the exchange's state in a JSON file written
after every change (atomically), so a session process killed at any instant and started
again talks to the same exchange, as it would to a real one.

Faults: ``down`` (every call fails), ``fail_submits`` (the next N submits fail before the
exchange sees them), ``lose_responses`` (the next N submits are accepted and executed but
the answer is lost), ``duplicate_fills`` (each fill is reported twice), ``drift_us`` (the
exchange's clock is off).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.engine.live_ports import (
    VenueBalance,
    VenueFill,
    VenueOrderState,
    VenueOrderStatus,
    VenueUnavailableError,
)
from domain.engine.ports import (
    Accepted,
    Canceled,
    Filled,
    VenueOrder,
    VenueReport,
)
from domain.events.types import Liquidity, OrderType, Side
from domain.market import Bar

FEE_RATE = Decimal("0.001")


@dataclass
class Faults:
    down: bool = False
    fail_submits: int = 0
    lose_responses: int = 0
    duplicate_fills: bool = False
    drift_us: int = 0


@dataclass
class _Order:
    client_id: str
    venue_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit: Decimal | None
    filled: Decimal = Decimal(0)
    state: VenueOrderState = VenueOrderState.OPEN


@dataclass
class FakeExchange:
    """The exchange's state (see the module doc); ``name`` as ccxt would call it."""

    cash: Decimal = Decimal(100_000)
    quote: str = "USDT"
    name: str = "binance"
    path: Path | None = None
    faults: Faults = field(default_factory=Faults)
    orders: dict[str, _Order] = field(default_factory=dict)
    fills: list[VenueFill] = field(default_factory=list)
    balances_held: dict[str, Decimal] = field(default_factory=dict)
    prices: dict[str, Decimal] = field(default_factory=dict)
    outbox: list[VenueReport] = field(default_factory=list)
    submits_received: list[str] = field(default_factory=list)
    calls: int = 0
    last_tick_us: int = -1
    _resting_cache: dict[str, _Order] | None = None

    def __post_init__(self) -> None:
        self.balances_held.setdefault(self.quote, self.cash)
        if self.path is not None and self.path.exists():
            self._load()

    # --- the exchange's market ---------------------------------------------------------------

    def tick(self, bar: Bar) -> None:
        """A bar traded: resting limit orders it crosses fill at their limit (a bar it has
        seen already, replayed by a restarted session's feed, changes nothing)."""
        if bar.time_us <= self.last_tick_us:
            return
        self.last_tick_us = bar.time_us
        self.prices[bar.symbol] = bar.close
        for order in [o for o in self._resting() if o.symbol == bar.symbol]:
            limit = order.limit
            assert limit is not None
            crosses = bar.low <= limit if order.side is Side.BUY else bar.high >= limit
            if crosses:
                self.outbox.extend(self._execute(order, limit, Liquidity.MAKER, _now_us()))
        self._save()

    # --- LiveVenue -----------------------------------------------------------------------------

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        self._reachable()
        if self.faults.fail_submits:
            self.faults.fail_submits -= 1
            self._save()
            raise VenueUnavailableError("HTTP 503 (injected)", code="503")
        self.submits_received.append(order.order_id)
        placed = _Order(
            order.order_id,
            f"X{len(self.orders) + 1}",
            order.symbol,
            order.side,
            order.order_type,
            order.quantity,
            order.limit_price,
        )
        self.orders[placed.client_id] = placed
        if placed.limit is not None and self._resting_cache is not None:
            self._resting_cache[placed.client_id] = placed
        reports: list[VenueReport] = [Accepted(order.order_id, placed.venue_id)]
        if order.order_type is OrderType.MARKET:
            price = self.prices[order.symbol]
            reports += self._execute(placed, price, Liquidity.TAKER, _now_us())
        self._save()
        if self.faults.lose_responses:
            self.faults.lose_responses -= 1
            self.outbox.extend(r for r in reports if isinstance(r, Filled))
            self._save()
            raise VenueUnavailableError("response lost (injected)")
        return reports

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        self._reachable()
        order = self.orders.get(order_id)
        if order is None or order.state is not VenueOrderState.OPEN:
            return []
        order.state = VenueOrderState.CANCELED
        self._save()
        return [Canceled(order_id, reason)]

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        return self.poll()

    def open_order_ids(self) -> list[str]:
        return [status.client_order_id for status in self.open_orders([])]

    def poll(self) -> Sequence[VenueReport]:
        self._reachable()
        reports, self.outbox = self.outbox, []
        self._save()
        if self.faults.duplicate_fills:
            reports = [r for report in reports for r in (report, report)]
        return reports

    def server_time_us(self) -> int:
        self._reachable()
        return _now_us() + self.faults.drift_us

    def order_by_client_id(self, client_order_id: str, symbol: str) -> VenueOrderStatus | None:
        self._reachable()
        order = self.orders.get(client_order_id)
        return None if order is None else _status(order)

    def open_orders(self, symbols: Sequence[str]) -> list[VenueOrderStatus]:
        self._reachable()
        return [
            _status(o)
            for o in self.orders.values()
            if o.state is VenueOrderState.OPEN and (not symbols or o.symbol in symbols)
        ]

    def fills_since(self, since_us: int, symbols: Sequence[str]) -> list[VenueFill]:
        self._reachable()
        return [f for f in self.fills if f.time_us >= since_us and f.symbol in symbols]

    def balances(self) -> list[VenueBalance]:
        self._reachable()
        return [VenueBalance(c, total, total) for c, total in sorted(self.balances_held.items())]

    # --- inside the exchange ---------------------------------------------------------------

    def _resting(self) -> list[_Order]:
        """Open limit orders (kept apart: a session may have sent thousands of others)."""
        if self._resting_cache is None:
            self._resting_cache = {
                o.client_id: o
                for o in self.orders.values()
                if o.limit is not None and o.state is VenueOrderState.OPEN
            }
        for client_id in [
            c for c, o in self._resting_cache.items() if o.state is not VenueOrderState.OPEN
        ]:
            del self._resting_cache[client_id]
        return list(self._resting_cache.values())

    def _reachable(self) -> None:
        self.calls += 1
        if self.faults.down:
            raise VenueUnavailableError("connection refused (injected)")

    def _execute(
        self, order: _Order, price: Decimal, liquidity: Liquidity, time_us: int
    ) -> list[VenueReport]:
        quantity = order.quantity - order.filled
        fee = (quantity * price * FEE_RATE).quantize(Decimal("0.00000001"))
        order.filled += quantity
        order.state = VenueOrderState.FILLED
        base = order.symbol.partition("/")[0]
        held = self.balances_held
        held[base] = held.get(base, Decimal(0)) + order.side.sign * quantity
        held[self.quote] -= order.side.sign * quantity * price + fee
        fill = VenueFill(
            order.client_id,
            order.venue_id,
            f"T{len(self.fills) + 1}",
            order.symbol,
            order.side,
            price,
            quantity,
            fee,
            self.quote,
            liquidity,
            time_us,
        )
        self.fills.append(fill)
        return [
            Filled(
                order.client_id,
                order.venue_id,
                fill.venue_fill_id,
                price,
                quantity,
                fee,
                self.quote,
                liquidity,
                Decimal(0),
            )
        ]

    def _save(self) -> None:
        if self.path is None:
            return
        state = {
            "orders": [_order_json(o) for o in self.orders.values()],
            "fills": [_fill_json(f) for f in self.fills],
            "balances": {c: str(v) for c, v in self.balances_held.items()},
            "prices": {s: str(v) for s, v in self.prices.items()},
            "outbox": [_fill_json(self._fill_of(r)) for r in self.outbox if isinstance(r, Filled)],
            "submits": self.submits_received,
            "last_tick_us": self.last_tick_us,
            "faults": self.faults.__dict__,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.path)

    def _fill_of(self, report: Filled) -> VenueFill:
        return next(f for f in self.fills if f.venue_fill_id == report.venue_fill_id)

    def _load(self) -> None:
        assert self.path is not None
        state = json.loads(self.path.read_text())
        self.orders = {o["client_id"]: _order_of(o) for o in state["orders"]}
        self.fills = [_fill_of_json(f) for f in state["fills"]]
        self.balances_held = {c: Decimal(v) for c, v in state["balances"].items()}
        self.prices = {s: Decimal(v) for s, v in state["prices"].items()}
        self.submits_received = list(state["submits"])
        self.last_tick_us = state["last_tick_us"]
        self.faults = Faults(**state["faults"])
        self.outbox = []
        for data in state["outbox"]:
            fill = _fill_of_json(data)
            self.outbox.append(
                Filled(
                    fill.client_order_id,
                    fill.venue_order_id,
                    fill.venue_fill_id,
                    fill.price,
                    fill.quantity,
                    fill.fee,
                    fill.fee_currency,
                    fill.liquidity,
                    Decimal(0),
                )
            )


def _now_us() -> int:
    return time.time_ns() // 1_000


def _status(order: _Order) -> VenueOrderStatus:
    return VenueOrderStatus(
        order.client_id,
        order.venue_id,
        order.symbol,
        order.side,
        order.order_type,
        order.quantity,
        order.filled,
        order.state,
        order.limit,
    )


def _order_json(order: _Order) -> dict[str, Any]:
    return {
        "client_id": order.client_id,
        "venue_id": order.venue_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "order_type": order.order_type.value,
        "quantity": str(order.quantity),
        "limit": None if order.limit is None else str(order.limit),
        "filled": str(order.filled),
        "state": order.state.value,
    }


def _order_of(data: dict[str, Any]) -> _Order:
    return _Order(
        data["client_id"],
        data["venue_id"],
        data["symbol"],
        Side(data["side"]),
        OrderType(data["order_type"]),
        Decimal(data["quantity"]),
        None if data["limit"] is None else Decimal(data["limit"]),
        Decimal(data["filled"]),
        VenueOrderState(data["state"]),
    )


def _fill_json(fill: VenueFill) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "venue_order_id": fill.venue_order_id,
        "venue_fill_id": fill.venue_fill_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "price": str(fill.price),
        "quantity": str(fill.quantity),
        "fee": str(fill.fee),
        "fee_currency": fill.fee_currency,
        "liquidity": fill.liquidity.value,
        "time_us": fill.time_us,
    }


def _fill_of_json(data: dict[str, Any]) -> VenueFill:
    return VenueFill(
        data["client_order_id"],
        data["venue_order_id"],
        data["venue_fill_id"],
        data["symbol"],
        Side(data["side"]),
        Decimal(data["price"]),
        Decimal(data["quantity"]),
        Decimal(data["fee"]),
        data["fee_currency"],
        Liquidity(data["liquidity"]),
        data["time_us"],
    )


class TickingFeed:
    """A ``LiveFeed`` over fixed bar groups that shows each bar to the exchange as it closes."""

    def __init__(self, exchange: FakeExchange, groups: Sequence[Sequence[Bar]]) -> None:
        self.exchange = exchange
        self.groups = groups

    def __iter__(self) -> Iterator[Sequence[Bar]]:
        for group in self.groups:
            for bar in group:
                self.exchange.tick(bar)
            yield group
