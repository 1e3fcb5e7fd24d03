"""The one base class every strategy subclasses, in backtest, paper and live alike.

A strategy sees bars, its own fills, its position, cash, equity and a clock, through a
``StrategyContext``. It has no venue handle: the only way to trade is the context's order
API, which sends every intent through the risk engine first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from domain.events.envelope import from_microseconds
from domain.events.types import OrderType, Side, TimeInForce
from domain.market import Bar
from domain.strategy.params import Param, StrategyError, validate_params


@dataclass(frozen=True, slots=True)
class OrderTicket:
    """The answer to an order request: approved (with the order id) or rejected (with why)."""

    client_order_id: str
    approved: bool
    order_id: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StrategyFill:
    """One execution of one of the strategy's orders."""

    order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    time_us: int


class StrategyContext(Protocol):
    """What the engine lends a strategy: read access to its book, a clock and an order API."""

    @property
    def now_us(self) -> int: ...

    @property
    def cash(self) -> Decimal: ...

    @property
    def equity(self) -> Decimal: ...

    def position(self, symbol: str) -> Decimal: ...

    def pending_quantity(self, symbol: str) -> Decimal: ...

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
    ) -> OrderTicket: ...

    def cancel_order(self, order_id: str, *, reason: str = "") -> None: ...


class Strategy:
    """Subclass, declare ``parameters``, override the ``on_*`` hooks you need."""

    name: ClassVar[str] = ""
    parameters: ClassVar[dict[str, Param]] = {}

    def __init__(self, params: Mapping[str, object] | None = None) -> None:
        self.params: dict[str, Any] = validate_params(
            self.strategy_name(), self.parameters, params or {}
        )
        self.check_params()
        self._ctx: StrategyContext | None = None

    @classmethod
    def strategy_name(cls) -> str:
        return cls.name or cls.__name__

    def check_params(self) -> None:
        """Cross-parameter checks (fast < slow); raise ``StrategyError`` with a clear message."""

    def warmup_bars(self) -> int:
        """How many closed bars before the first live one the strategy needs to give its
        first signal (a live session fetches them; see ``domain.engine.warmup``); 0: none."""
        return 0

    def bind(self, ctx: StrategyContext) -> None:
        self._ctx = ctx

    @property
    def ctx(self) -> StrategyContext:
        if self._ctx is None:
            raise StrategyError(f"strategy {self.strategy_name()} is not attached to an engine")
        return self._ctx

    # --- read access ---------------------------------------------------------------------

    def position(self, symbol: str) -> Decimal:
        return self.ctx.position(symbol)

    @property
    def cash(self) -> Decimal:
        return self.ctx.cash

    @property
    def equity(self) -> Decimal:
        return self.ctx.equity

    @property
    def now(self) -> datetime:
        return from_microseconds(self.ctx.now_us)

    # --- orders --------------------------------------------------------------------------

    def buy(self, symbol: str, quantity: Decimal, *, reason: str = "") -> OrderTicket:
        return self.ctx.submit_order(symbol, Side.BUY, quantity, reason=reason)

    def sell(self, symbol: str, quantity: Decimal, *, reason: str = "") -> OrderTicket:
        return self.ctx.submit_order(symbol, Side.SELL, quantity, reason=reason)

    def target_position(
        self, symbol: str, target: Decimal, *, reason: str = ""
    ) -> OrderTicket | None:
        """Trade the difference between ``target`` and the position plus working orders."""
        current = self.ctx.position(symbol) + self.ctx.pending_quantity(symbol)
        delta = target - current
        if delta == 0:
            return None
        side = Side.BUY if delta > 0 else Side.SELL
        return self.ctx.submit_order(symbol, side, abs(delta), reason=reason)

    # --- hooks ---------------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once before the first bar."""

    def on_bar(self, bar: Bar) -> None:
        """Called at each bar's close."""

    def on_fill(self, fill: StrategyFill) -> None:
        """Called after each execution of one of this strategy's orders."""

    def on_stop(self) -> None:
        """Called once after the last bar."""
