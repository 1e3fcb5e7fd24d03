"""Built-in strategies: SMA cross, mean reversion (Bollinger) and momentum (ROC breakout)."""

from __future__ import annotations

from decimal import Decimal

from domain.indicators import BollingerBands, Channel, RateOfChange, SimpleMovingAverage
from domain.market import Bar
from domain.strategy.base import Strategy
from domain.strategy.params import Param, StrategyError
from domain.strategy.registry import register


@register
class SmaCross(Strategy):
    """Long ``size`` when the fast SMA of close crosses above the slow one; flat when below."""

    name = "sma_cross"
    parameters = {
        "fast": Param(int, 10, minimum=1, help="fast SMA period (bars)"),
        "slow": Param(int, 30, minimum=2, help="slow SMA period (bars)"),
        "size": Param(Decimal, Decimal(1), minimum=Decimal("0.00000001"), help="units to hold"),
    }

    def check_params(self) -> None:
        if self.params["fast"] >= self.params["slow"]:
            raise StrategyError(
                f"sma_cross needs fast < slow (got fast={self.params['fast']}, "
                f"slow={self.params['slow']})"
            )

    def warmup_bars(self) -> int:
        return int(self.params["slow"])

    def on_start(self) -> None:
        self._symbols: dict[str, _CrossState] = {}

    def on_bar(self, bar: Bar) -> None:
        try:
            state = self._symbols[bar.symbol]
        except KeyError:  # the symbol's first bar
            state = self._symbols[bar.symbol] = _CrossState(
                SimpleMovingAverage(self.params["fast"]), SimpleMovingAverage(self.params["slow"])
            )
        close = float(bar.close)
        fast, slow = state.fast.update(close), state.slow.update(close)
        if fast is None or slow is None:
            return
        above = fast > slow
        previous = state.above
        if above == previous:
            return
        state.above = above
        if previous is None:  # the first comparison sets the side, it is not a cross
            return
        if above:
            self.target_position(bar.symbol, self.params["size"], reason="fast SMA crossed above")
        else:
            self.target_position(bar.symbol, Decimal(0), reason="fast SMA crossed below")


class _CrossState:
    """One symbol's averages, and whether fast was above slow at the last bar."""

    __slots__ = ("above", "fast", "slow")

    def __init__(self, fast: SimpleMovingAverage, slow: SimpleMovingAverage) -> None:
        self.fast = fast
        self.slow = slow
        self.above: bool | None = None


@register
class MeanReversion(Strategy):
    """Long ``size`` below the lower Bollinger band, flat again at the middle band."""

    name = "mean_reversion"
    parameters = {
        "period": Param(int, 20, minimum=2, help="band window (bars)"),
        "width": Param(float, 2.0, minimum=0.1, help="band width in standard deviations"),
        "size": Param(Decimal, Decimal(1), minimum=Decimal("0.00000001"), help="units to hold"),
        "allow_short": Param(
            bool, False, help="also short above the upper band (needs --limit max_short_position=N)"
        ),
    }

    def warmup_bars(self) -> int:
        return int(self.params["period"])

    def on_start(self) -> None:
        self._bands: dict[str, BollingerBands] = {}

    def on_bar(self, bar: Bar) -> None:
        bands = self._bands.get(bar.symbol)
        if bands is None:
            bands = self._bands[bar.symbol] = BollingerBands(
                self.params["period"], self.params["width"]
            )
        reading = bands.update(float(bar.close))
        if reading is None:
            return
        lower, middle, upper = reading
        close = float(bar.close)
        size: Decimal = self.params["size"]
        held = self.position(bar.symbol) + self.ctx.pending_quantity(bar.symbol)
        if close < lower and held <= 0:
            self.target_position(bar.symbol, size, reason="close below lower band")
        elif close > upper and self.params["allow_short"] and held >= 0:
            self.target_position(bar.symbol, -size, reason="close above upper band")
        elif (held > 0 and close >= middle) or (held < 0 and close <= middle):
            self.target_position(bar.symbol, Decimal(0), reason="back to the middle band")


@register
class Momentum(Strategy):
    """Long ``size`` on a breakout above the channel high with positive rate of change."""

    name = "momentum"
    parameters = {
        "lookback": Param(int, 20, minimum=1, help="breakout channel (bars)"),
        "roc_period": Param(int, 10, minimum=1, help="rate-of-change window (bars)"),
        "threshold": Param(float, 0.0, help="minimum rate of change to enter"),
        "size": Param(Decimal, Decimal(1), minimum=Decimal("0.00000001"), help="units to hold"),
    }

    def warmup_bars(self) -> int:
        return max(int(self.params["lookback"]), int(self.params["roc_period"]) + 1)

    def on_start(self) -> None:
        self._channel: dict[str, Channel] = {}
        self._roc: dict[str, RateOfChange] = {}

    def on_bar(self, bar: Bar) -> None:
        channel = self._channel.get(bar.symbol)
        roc = self._roc.get(bar.symbol)
        if channel is None or roc is None:
            channel = self._channel[bar.symbol] = Channel(self.params["lookback"])
            roc = self._roc[bar.symbol] = RateOfChange(self.params["roc_period"])
        close = float(bar.close)
        band = channel.update(float(bar.high), float(bar.low))
        change = roc.update(close)
        if band is None or change is None:
            return
        low, high = band
        held = self.position(bar.symbol) + self.ctx.pending_quantity(bar.symbol)
        if close > high and change > self.params["threshold"] and held <= 0:
            self.target_position(bar.symbol, self.params["size"], reason="breakout with momentum")
        elif held > 0 and (close < low or change < 0):
            self.target_position(bar.symbol, Decimal(0), reason="momentum faded")
