"""resample: UTC-aligned buckets, exact OHLCV aggregation, no downsampling to finer bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.marketdata import MarketDataError, resample
from domain.market import Bar

T0 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z, a UTC midnight
MINUTE = 60_000_000


def minute_bar(i: int, symbol: str = "X") -> Bar:
    base = Decimal(100) + Decimal(i) / 10
    return Bar(
        symbol,
        T0 + i * MINUTE,
        base,
        base + Decimal("0.35"),
        base - Decimal("0.25"),
        base + Decimal("0.05"),
        Decimal("0.1"),
    )


def test_five_minute_buckets_are_exact() -> None:
    bars = [minute_bar(i) for i in range(3, 13)]  # 00:03 .. 00:12
    out = resample(bars, "5m")
    assert [b.time_us for b in out] == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
    middle = out[1]  # minutes 5..9
    assert middle.open == bars[2].open == Decimal("100.5")
    assert middle.high == max(b.high for b in bars[2:7]) == Decimal("101.25")
    assert middle.low == min(b.low for b in bars[2:7]) == Decimal("100.25")
    assert middle.close == bars[6].close == Decimal("100.95")
    assert middle.volume == Decimal("0.5")  # exact: five 0.1 sum to 0.5, not 0.5000000001
    assert out[0].volume == Decimal("0.2")  # partial first bucket kept


def test_daily_buckets_start_at_utc_midnight() -> None:
    bars = [minute_bar(i) for i in range(1430, 1450)]  # 23:50 .. 00:09 next day
    out = resample(bars, "1d")
    assert [b.time_us for b in out] == [T0, T0 + 1440 * MINUTE]
    assert out[0].close == bars[9].close and out[1].open == bars[10].open
    assert sum((b.volume for b in out), Decimal(0)) == Decimal("2.0")


def test_hour_from_fifteen_minutes_and_identity() -> None:
    fifteen = resample([minute_bar(i) for i in range(120)], "15m")
    assert len(fifteen) == 8
    hourly = resample(fifteen, "1h")
    assert hourly == resample([minute_bar(i) for i in range(120)], "1h")
    assert resample(fifteen, "15m") == fifteen


def test_refusals() -> None:
    five = resample([minute_bar(i) for i in range(10)], "5m")
    with pytest.raises(MarketDataError, match="finer than the bars' own interval"):
        resample(five, "1m")
    with pytest.raises(MarketDataError, match="unknown interval '2h'"):
        resample(five, "2h")
    with pytest.raises(MarketDataError, match="one symbol at a time"):
        resample([minute_bar(0), minute_bar(1, "Y")], "5m")
    with pytest.raises(MarketDataError, match="increasing time order"):
        resample([minute_bar(1), minute_bar(0)], "5m")
    assert resample([], "1h") == []
