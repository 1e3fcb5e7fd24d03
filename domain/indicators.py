"""Streaming indicators for strategies: one value in, the current reading out.

Indicator math is float arithmetic (it decides, it does not account); whatever a strategy
records from it goes through exact Decimals.
"""

from __future__ import annotations

import math
from collections import deque


class SimpleMovingAverage:
    """Mean of the last ``period`` values; ``None`` until the window is full.

    The window is summed with ``math.fsum`` (the correctly rounded sum) at every update, the
    same float operations as backtrader's SMA, so two averages that are equal in exact
    arithmetic compare equal here too; a running sum drifts over a long series.
    """

    __slots__ = ("_value", "_window", "period")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._window: deque[float] = deque(maxlen=period)
        self._value: float | None = None

    def update(self, value: float) -> float | None:
        window = self._window
        window.append(value)
        if len(window) == self.period:
            self._value = math.fsum(window) / self.period
        return self._value

    @property
    def value(self) -> float | None:
        return self._value


class BollingerBands:
    """Moving average plus/minus ``width`` population standard deviations."""

    def __init__(self, period: int, width: float) -> None:
        if period < 2:
            raise ValueError(f"period must be >= 2, got {period}")
        self.period = period
        self.width = width
        self._window: deque[float] = deque(maxlen=period)

    def update(self, value: float) -> tuple[float, float, float] | None:
        """Returns (lower, middle, upper) once the window is full."""
        self._window.append(value)
        if len(self._window) < self.period:
            return None
        mean = math.fsum(self._window) / self.period
        variance = math.fsum((x - mean) ** 2 for x in self._window) / self.period
        deviation = math.sqrt(variance)
        return mean - self.width * deviation, mean, mean + self.width * deviation


class RateOfChange:
    """Fractional change over ``period`` values: value / value[period ago] - 1."""

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._window: deque[float] = deque(maxlen=period + 1)

    def update(self, value: float) -> float | None:
        self._window.append(value)
        if len(self._window) <= self.period or self._window[0] == 0:
            return None
        return value / self._window[0] - 1.0


class Channel:
    """Highest high and lowest low of the previous ``period`` bars (excluding the current)."""

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._highs: deque[float] = deque(maxlen=period)
        self._lows: deque[float] = deque(maxlen=period)

    def update(self, high: float, low: float) -> tuple[float, float] | None:
        """Returns (lowest low, highest high) of the bars before this one, then adds this one."""
        reading = (min(self._lows), max(self._highs)) if len(self._highs) == self.period else None
        self._highs.append(high)
        self._lows.append(low)
        return reading
