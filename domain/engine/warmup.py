"""Warm-up: a strategy reads history before its first live bar, and trades none of it.

A live run starts with indicators that have seen nothing; a slow average of 30 bars would
need 30 live bars before its first signal. ``warm_up`` hands the strategy the closed bars
before the run's first bar through a context that reads the engine but drops every order
request (history is not traded) and records nothing, so warm-up leaves no trace in the log:
a restart repeats it with the same history (see ``api.application.live_session``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.engine.context import EngineContext
from domain.engine.failures import StrategyFailedError
from domain.events.types import OrderType, Side, TimeInForce
from domain.market import Bar
from domain.strategy.base import OrderTicket

if TYPE_CHECKING:
    from domain.engine.engine import TradingEngine

WARM_UP_ONLY = "warm-up: history is not traded"


class WarmUpContext(EngineContext):
    """The engine's context with market time at the warm-up bar and no orders."""

    __slots__ = ("bar_us",)

    def __init__(self, engine: TradingEngine) -> None:
        super().__init__(engine)
        self.bar_us = engine.market_us

    @property
    def now_us(self) -> int:
        return self.bar_us

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
        return OrderTicket("", approved=False, order_id=None, reason=WARM_UP_ONLY)

    def cancel_order(self, order_id: str, *, reason: str = "") -> None:
        return None


def warm_up(engine: TradingEngine, groups: Iterable[Sequence[Bar]]) -> int:
    """Feed ``groups`` (bar times before the run's first bar, oldest first) to the strategy of
    a started engine; returns the number of bars. The engine's own context is restored."""
    strategy = engine.strategy
    context = WarmUpContext(engine)
    strategy.bind(context)
    count = 0
    try:
        for group in groups:
            for bar in group:
                context.bar_us = bar.time_us
                try:
                    strategy.on_bar(bar)
                except Exception as error:
                    raise StrategyFailedError("on_bar", error) from error
                count += 1
    finally:
        strategy.bind(EngineContext(engine))
    return count


def bar_groups(history: dict[str, list[Bar]]) -> list[tuple[Bar, ...]]:
    """Bars of several symbols as bar times (one bar per symbol each), oldest first."""
    by_time: dict[int, list[Bar]] = {}
    for bars in history.values():
        for bar in bars:
            by_time.setdefault(bar.time_us, []).append(bar)
    return [tuple(by_time[time_us]) for time_us in sorted(by_time)]
