"""Bars built in code for the trading tests (small, deterministic, with SMA crosses)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from domain.events.envelope import from_microseconds
from domain.market import Bar

START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
MINUTE_US = 60_000_000
CENT = Decimal("0.01")


def bar(
    time_index: int,
    open_: str | Decimal,
    high: str | Decimal,
    low: str | Decimal,
    close: str | Decimal,
    volume: str | Decimal = "100",
    symbol: str = "BTC",
) -> Bar:
    return Bar(
        symbol,
        START_US + time_index * MINUTE_US,
        Decimal(open_),
        Decimal(high),
        Decimal(low),
        Decimal(close),
        Decimal(volume),
    )


def wave_bars(count: int, symbol: str = "BTC", base: float = 100.0) -> list[Bar]:
    """A sine wave with drift: SMA crosses happen every few dozen bars."""
    bars = []
    previous = Decimal(str(base))
    for i in range(count):
        price = base + 10 * math.sin(i / 9) + 3 * math.sin(i / 2.3) + i * 0.02
        close = Decimal(str(price)).quantize(CENT)
        high = max(previous, close) + Decimal("0.5")
        low = min(previous, close) - Decimal("0.5")
        bars.append(bar(i, previous, high, low, close, str(50 + i % 17), symbol))
        previous = close
    return bars


def write_bars_csv(path: Path, bars: Iterable[Bar]) -> Path:
    """``bars`` as the CSV `lh backtest --data` reads (UTC times with a ``Z``); returns ``path``."""
    lines = ["timestamp,symbol,open,high,low,close,volume"]
    for b in bars:
        stamp = from_microseconds(b.time_us).isoformat().replace("+00:00", "Z")
        lines.append(f"{stamp},{b.symbol},{b.open},{b.high},{b.low},{b.close},{b.volume}")
    path.write_text("\n".join(lines) + "\n")
    return path
