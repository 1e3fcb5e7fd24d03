"""The strategy's window on its run: its book, market time and the order API, no venue."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from domain.events.types import CancelOrigin, OrderType, Side, TimeInForce
from domain.strategy.base import OrderTicket

if TYPE_CHECKING:
    from domain.engine.engine import TradingEngine


class EngineContext:
    """What ``Strategy.ctx`` is bound to: reads the engine, orders through its order manager."""

    __slots__ = ("_engine",)

    def __init__(self, engine: TradingEngine) -> None:
        self._engine = engine

    @property
    def now_us(self) -> int:
        return self._engine.market_us

    @property
    def cash(self) -> Decimal:
        return self._engine.book.cash

    @property
    def equity(self) -> Decimal:
        return self._engine.book.equity

    def position(self, symbol: str) -> Decimal:
        return self._engine.book.position(symbol)

    def pending_quantity(self, symbol: str) -> Decimal:
        return self._engine.order_manager.pending_quantity(symbol)

    def submit_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reason: str = "",
    ) -> OrderTicket:
        return self._engine.submit(
            symbol,
            side,
            quantity,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            reason=reason,
        )

    def cancel_order(self, order_id: str, *, reason: str = "") -> None:
        manager = self._engine.order_manager
        strategy = manager.recorder.strategy
        manager.cancel(
            order_id,
            reason=reason or "strategy request",
            requested_by=self._engine.spec.strategy,
            origin=CancelOrigin.STRATEGY,
            actor=strategy,
        )
