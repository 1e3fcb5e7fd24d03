"""Streaming indicators for strategies: one value in, the current reading out.

Indicator math is float arithmetic (it decides, it does not account); whatever a strategy
records from it goes through exact Decimals.
"""

from __future__ import annotations

import math
from collections import deque


class SimpleMovingAverage:
    """Mean of the last ``period`` values; ``None`` until the window is full.

    Always exactly ``math.fsum(window) / period``: the correctly rounded sum, then one
    division, the same float values as backtrader's SMA, so two averages that are equal in
    exact arithmetic compare equal here too (a naive running sum drifts over a long series).

    It gets there in O(1) per update with an exact running sum. Every float is a multiple of
    some power of two, the grid ``2**g``; while the window's values are all on the grid and
    below a ceiling, each splits exactly into a coarse part (rounded to a multiple of a
    larger power of two) and a remainder, and the window sums of the two parts each fit in
    53 bits. So adding the newcomer and subtracting the leaver is exact in plain float
    arithmetic, and adding the two sums rounds once: the correctly rounded sum, which is
    what ``math.fsum`` returns. A value that does not fit (a price many binades away, inf,
    nan) picks the grid afresh from the window and re-sums it; if no grid fits, the mean is
    ``math.fsum(window) / period`` itself (exceptions included) until one does again.
    """

    __slots__ = (
        "_ceiling",
        "_coarse_sum",
        "_floor",
        "_grid",
        "_remainder_sum",
        "_rounder",
        "_spare_bits",
        "_value",
        "_window",
        "period",
    )

    def __init__(self, period: int) -> None:
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.period = period
        self._window: deque[float] = deque(maxlen=period)
        self._value: float | None = None
        # bits the sums need beyond one value's: they hold period + 1 values at a time
        # (the newcomer is added before the leaver is subtracted)
        self._spare_bits = (period + 1).bit_length()
        self._coarse_sum = self._remainder_sum = 0.0
        self._grid = 1.0  # 2**g
        self._rounder = 1.0  # (x + rounder) - rounder is x rounded to the coarse unit
        self._floor, self._ceiling = _NO_FAST_RANGE  # values in [floor, ceiling) fit

    def update(self, value: float) -> float | None:
        if not (self._floor <= value < self._ceiling or self._fits(value)):
            return self._update_slowly(value)
        window = self._window
        leaving = window[0]
        window.append(value)
        rounder = self._rounder
        coarse = (value + rounder) - rounder
        leaving_coarse = (leaving + rounder) - rounder
        self._coarse_sum = coarse_sum = self._coarse_sum + coarse - leaving_coarse
        self._remainder_sum = remainder_sum = (
            self._remainder_sum + (value - coarse) - (leaving - leaving_coarse)
        )
        self._value = mean = (coarse_sum + remainder_sum) / self.period
        return mean

    @property
    def value(self) -> float | None:
        return self._value

    def _fits(self, value: float) -> bool:
        """Outside the fast range but exact all the same: zero, negative, small on the grid."""
        return abs(value) < self._ceiling and math.fmod(value, self._grid) == 0.0

    def _update_slowly(self, value: float) -> float | None:
        window = self._window
        window.append(value)
        if len(window) < self.period:
            return None
        if self._resum():
            self._value = (self._coarse_sum + self._remainder_sum) / self.period
        else:
            self._floor, self._ceiling = _NO_FAST_RANGE
            self._value = math.fsum(window) / self.period
        return self._value

    def _resum(self) -> bool:
        """Pick the grid for the current window and sum it afresh; False if none fits.

        With ``s`` spare bits, grid ``2**g``, coarse unit ``2**(g + 54 - s)`` and every
        ``|value| < 2**(g + 106 - 2*s)`` (the ceiling), the remainder sums stay below
        ``2**(g + 53)`` and the coarse sums below ``2**52`` coarse units: both exact.
        """
        values = [float(item) for item in self._window]
        finest = _UNBOUNDED  # lowest set bit over the window, as a power of two
        largest = -_UNBOUNDED  # every |value| < 2**largest
        for item in values:
            if not math.isfinite(item):
                return False
            if item:
                numerator, denominator = item.as_integer_ratio()
                if denominator > 1:
                    finest = min(finest, 1 - denominator.bit_length())
                else:
                    finest = min(finest, (numerator & -numerator).bit_length() - 1)
                largest = max(largest, math.frexp(item)[1])
        spare = self._spare_bits
        lowest = max(largest - 106 + 2 * spare, -1074)  # below 2**-1074 is no float
        highest = min(finest, 917 + spare)  # keeps the rounder a finite float
        if lowest > highest:
            return False
        # centre the fast range [2**(g + 52), ceiling) on the newest value, in binades
        grid = min(max(math.frexp(values[-1])[1] - 79 + spare, lowest), highest)
        self._grid = math.ldexp(1.0, grid)
        self._rounder = rounder = math.ldexp(1.5, grid + 106 - spare)
        self._floor = math.ldexp(1.0, grid + 52)  # floats this large are on the grid
        self._ceiling = math.ldexp(1.0, grid + 106 - 2 * spare)
        coarse_sum = remainder_sum = 0.0
        for item in values:
            coarse = (item + rounder) - rounder
            coarse_sum += coarse
            remainder_sum += item - coarse
        self._coarse_sum, self._remainder_sum = coarse_sum, remainder_sum
        return True


_NO_FAST_RANGE = (math.inf, 0.0)  # nothing passes: no running sums to update
_UNBOUNDED = 1 << 20  # beyond any float exponent


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
