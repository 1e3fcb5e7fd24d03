"""The filters every named query takes, turned into bound query parameters (never SQL text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.events.envelope import to_microseconds

# Open bounds: the epoch and 2200-01-01, so SQL compares plain Int64s with no NULL handling.
NO_START_US = 0
NO_END_US = 7_258_118_400_000_000
_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
MAX_INTERVAL_SECONDS = 366 * 86_400


class FilterError(ValueError):
    """A filter value is malformed (bad time, bad interval) or not accepted by the query."""


@dataclass(frozen=True, slots=True)
class Filters:
    """``start`` is inclusive and ``end`` exclusive; empty strategy/symbol/run mean all."""

    start: datetime | None = None
    end: datetime | None = None
    strategy: str = ""
    symbol: str = ""
    interval: str = ""
    run: str = ""

    def given(self) -> set[str]:
        names = {"from": self.start, "to": self.end, "strategy": self.strategy,
                 "symbol": self.symbol, "interval": self.interval, "run": self.run}  # fmt: skip
        return {name for name, value in names.items() if value}

    def parameters(self, default_interval: str = "1h") -> dict[str, str | int]:
        start_us = to_microseconds(self.start) if self.start else NO_START_US
        end_us = to_microseconds(self.end) if self.end else NO_END_US
        if start_us >= end_us:
            raise FilterError(f"--from ({self.start}) must be before --to ({self.end})")
        return {
            "from_us": start_us,
            "to_us": end_us,
            "strategy": self.strategy,
            "symbol": self.symbol,
            "run": self.run,
            "step": interval_seconds(self.interval or default_interval),
        }


def interval_seconds(text: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d``, ``1w`` -> seconds."""
    match = _INTERVAL.match(text)
    if not match:
        raise FilterError(f"interval {text!r}: expected a number and a unit, e.g. 5m, 1h, 1d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise FilterError(f"interval {text!r}: must be between 1s and 366d")
    return seconds


def parse_time(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"time {text!r}: expected ISO 8601, e.g. 2024-01-01 or 2024-01-01T09:30:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
