"""Indicators and the built-in strategies do what their names say."""

from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal

import pytest

from api.application.optimize import simulate
from api.application.runs import BacktestConfig
from domain.events.catalog import PortfolioValued, SignalGenerated
from domain.events.types import Side
from domain.indicators import BollingerBands, Channel, RateOfChange, SimpleMovingAverage
from tests.trading.helpers import wave_bars


def test_indicators() -> None:
    sma = SimpleMovingAverage(3)
    assert [sma.update(x) for x in (1.0, 2.0, 3.0, 4.0)] == [None, None, 2.0, 3.0]
    bands = BollingerBands(2, 1.0)
    assert bands.update(1.0) is None
    assert bands.update(3.0) == (1.0, 2.0, 3.0)
    roc = RateOfChange(2)
    assert [roc.update(x) for x in (100.0, 50.0, 110.0)] == [None, None, pytest.approx(0.1)]
    channel = Channel(2)
    assert channel.update(10, 5) is None
    assert channel.update(12, 6) is None
    assert channel.update(11, 7) == (5, 12)


def test_sma_is_the_correctly_rounded_window_mean_however_long_the_series() -> None:
    """No running-sum drift: equal windows give equal averages (backtrader's arithmetic)."""
    rng = random.Random(7)
    fast, slow = SimpleMovingAverage(2), SimpleMovingAverage(4)
    values = [round(rng.uniform(20_000, 30_000), 2) for _ in range(200_000)]
    for value in values:
        fast.update(value)
        slow.update(value)
    assert fast.value == math.fsum(values[-2:]) / 2
    assert slow.value == math.fsum(values[-4:]) / 4
    for value in (26040.22, 26040.23, 26040.22, 26040.23):  # fast and slow windows equal
        fast.update(value)
        slow.update(value)
    assert fast.value == slow.value == math.fsum([26040.22, 26040.23]) / 2


def test_sma_cross_goes_long_on_golden_cross_and_flat_on_death_cross() -> None:
    bars = wave_bars(300)
    result, events = simulate(
        BacktestConfig(
            bars={"BTC": bars},
            strategy="sma_cross",
            params={"fast": "4", "slow": "12", "size": "2"},
        )
    )
    closes = [float(b.close) for b in bars]
    times = {b.time: i for i, b in enumerate(bars)}
    signals = [e.payload for e in events if isinstance(e.payload, SignalGenerated)]
    assert len(signals) > 6
    for signal in signals:
        i = times[signal.bar_time]
        fast, slow = sum(closes[i - 3 : i + 1]) / 4, sum(closes[i - 11 : i + 1]) / 12
        prev_fast = sum(closes[i - 4 : i]) / 4
        prev_slow = sum(closes[i - 12 : i]) / 12
        if signal.side is Side.BUY:
            assert fast > slow and prev_fast <= prev_slow and signal.target_position == 2
        else:
            assert fast <= slow and prev_fast > prev_slow and signal.target_position == 0
    sides = [s.side for s in signals]
    assert all(a != b for a, b in itertools.pairwise(sides))
    assert len(result.trades) >= 3


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("mean_reversion", {"period": "10", "width": "1.0"}),
        ("momentum", {"lookback": "8", "roc_period": "4"}),
    ],
)
def test_other_builtins_trade_long_only_within_size(name: str, params: dict[str, str]) -> None:
    result, events = simulate(
        BacktestConfig(bars={"BTC": wave_bars(400)}, strategy=name, params=params | {"size": "3"})
    )
    assert len(result.trades) >= 2
    held = [
        e.payload.positions.get("BTC", Decimal(0))
        for e in events
        if isinstance(e.payload, PortfolioValued)
    ]
    assert set(held) <= {Decimal(0), Decimal(3)} and Decimal(3) in held
