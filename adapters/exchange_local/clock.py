"""The exchange's market time: the bar file's time, advancing with wall time times ``speed``."""

from __future__ import annotations

import time
from collections.abc import Callable


class MarketClock:
    """Market time in UTC microseconds. ``speed`` 60 plays one minute of bars per second;
    ``speed`` 0 stands still until ``skip`` moves it (tests step the market this way)."""

    def __init__(
        self, start_us: int, speed: float, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must not be negative, got {speed}")
        self._start_us = start_us
        self._speed = speed
        self._wall = wall
        self._wall_start = wall()
        self._skipped_us = 0

    def now_us(self) -> int:
        elapsed = (self._wall() - self._wall_start) * self._speed
        return self._start_us + int(elapsed * 1_000_000) + self._skipped_us

    def skip(self, micros: int) -> None:
        self._skipped_us += micros
