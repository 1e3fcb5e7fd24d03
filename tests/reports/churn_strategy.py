"""A test strategy that exercises every compliance check: market orders in and out (partial
fills under a volume cap), a resting limit order each bar canceled on the next one, and every
fourth bar a limit order canceled as soon as it is sent (an instant cancel)."""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal

from domain.events.types import OrderType, Side
from domain.market import Bar
from domain.strategy import Strategy, StrategyError


class Churn(Strategy):
    def on_start(self) -> None:
        self.bars: dict[str, int] = {}
        self.resting: dict[str, str] = {}

    def on_bar(self, bar: Bar) -> None:
        count = self.bars[bar.symbol] = self.bars.get(bar.symbol, 0) + 1
        resting = self.resting.pop(bar.symbol, None)
        if resting is not None:
            with suppress(StrategyError):  # it filled, or a kill switch canceled it
                self.ctx.cancel_order(resting, reason="stale quote")
        if count % 2:
            self.buy(bar.symbol, Decimal(3), reason="enter")
        elif self.position(bar.symbol) > 0:
            self.sell(bar.symbol, self.position(bar.symbol), reason="exit")
        quote = self.ctx.submit_order(
            bar.symbol,
            Side.BUY,
            Decimal(1),
            order_type=OrderType.LIMIT,
            limit_price=(bar.close * Decimal("0.95")).quantize(Decimal("0.01")),
            reason="quote",
        )
        if quote.order_id is None:
            return
        if count % 4 == 0:
            self.ctx.cancel_order(quote.order_id, reason="flash")
        else:
            self.resting[bar.symbol] = quote.order_id
