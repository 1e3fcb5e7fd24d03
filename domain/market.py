"""Market data as the domain sees it: OHLCV bars with exact prices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.events.envelope import from_microseconds


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``time_us`` is the bar's open time in UTC microseconds."""

    symbol: str
    time_us: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @property
    def time(self) -> datetime:
        return from_microseconds(self.time_us)


INTERVAL_MICROSECONDS = {
    "1m": 60_000_000,
    "5m": 300_000_000,
    "15m": 900_000_000,
    "1h": 3_600_000_000,
    "1d": 86_400_000_000,
}
