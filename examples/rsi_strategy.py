"""An example strategy file: RSI mean reversion with a protective stop.

Run it on the bundled sample bars (from the repository root):

    lh backtest --data adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv \
        --strategy examples/rsi_strategy.py:RsiReversion --param oversold=25

It buys ``size`` when the RSI of the closes falls below ``oversold``, puts a stop order
``stop_loss`` below the entry price once the entry fills, and goes flat again (cancelling
the stop) when the RSI rises above ``overbought``. See docs/strategies.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from domain.events.types import OrderType, Side
from domain.market import Bar
from domain.strategy import Param, Strategy, StrategyError, StrategyFill

CENTS = Decimal("0.01")


@dataclass
class _Rsi:
    """Wilder's RSI over ``period`` closes: average gain against average loss."""

    period: int
    last: float | None = None
    seen: int = 0
    gain: float = 0.0
    loss: float = 0.0

    def update(self, close: float) -> float | None:
        if self.last is None:
            self.last = close
            return None
        change, self.last = close - self.last, close
        up, down = max(change, 0.0), max(-change, 0.0)
        self.seen += 1
        if self.seen <= self.period:  # the first averages are plain means
            self.gain += up / self.period
            self.loss += down / self.period
            if self.seen < self.period:
                return None
        else:
            self.gain = (self.gain * (self.period - 1) + up) / self.period
            self.loss = (self.loss * (self.period - 1) + down) / self.period
        if self.loss == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + self.gain / self.loss)


class RsiReversion(Strategy):
    """Long ``size`` when RSI is oversold, flat when it is overbought; a stop guards the entry."""

    name = "rsi_reversion"
    parameters = {
        "period": Param(int, 14, minimum=2, help="RSI window (bars)"),
        "oversold": Param(float, 30.0, minimum=0.0, maximum=100.0, help="buy below this RSI"),
        "overbought": Param(float, 70.0, minimum=0.0, maximum=100.0, help="sell above this RSI"),
        "size": Param(Decimal, Decimal(1), minimum=Decimal("0.00000001"), help="units to hold"),
        "stop_loss": Param(
            Decimal,
            Decimal("0.03"),
            minimum=Decimal(0),
            maximum=Decimal("0.5"),
            help="stop this fraction below the entry price (0 = no stop)",
        ),
    }

    def check_params(self) -> None:
        if self.params["oversold"] >= self.params["overbought"]:
            raise StrategyError("rsi_reversion needs oversold < overbought")

    def on_start(self) -> None:
        self._rsi: dict[str, _Rsi] = {}
        self._stops: dict[str, str] = {}  # symbol -> id of its working stop order
        self._entries: set[str] = set()  # ids of entry orders not yet filled

    def on_bar(self, bar: Bar) -> None:
        rsi = self._rsi.setdefault(bar.symbol, _Rsi(self.params["period"]))
        value = rsi.update(float(bar.close))
        if value is None:
            return
        held = self.position(bar.symbol) + self.ctx.pending_quantity(bar.symbol)
        if value < self.params["oversold"] and held <= 0 and bar.symbol not in self._stops:
            ticket = self.buy(bar.symbol, self.params["size"], reason=f"RSI {value:.1f} oversold")
            if ticket.approved and ticket.order_id is not None:
                self._entries.add(ticket.order_id)
        elif value > self.params["overbought"] and self.position(bar.symbol) > 0:
            stop = self._stops.pop(bar.symbol, None)
            if stop is not None:
                self.ctx.cancel_order(stop, reason="exit on RSI")
            self.target_position(bar.symbol, Decimal(0), reason=f"RSI {value:.1f} overbought")

    def on_fill(self, fill: StrategyFill) -> None:
        if fill.order_id in self._entries:
            self._entries.discard(fill.order_id)
            self._protect(fill)
        elif self._stops.get(fill.symbol) == fill.order_id:
            del self._stops[fill.symbol]  # the stop fired: the position is closed

    def _protect(self, fill: StrategyFill) -> None:
        """A sell stop for the filled quantity, ``stop_loss`` below the fill price."""
        if not self.params["stop_loss"]:
            return
        price = (fill.price * (1 - self.params["stop_loss"])).quantize(CENTS, ROUND_DOWN)
        ticket = self.ctx.submit_order(
            fill.symbol,
            Side.SELL,
            fill.quantity,
            order_type=OrderType.STOP,
            stop_price=price,
            reason=f"protective stop {self.params['stop_loss']} below {fill.price}",
        )
        if ticket.approved and ticket.order_id is not None:
            self._stops[fill.symbol] = ticket.order_id
