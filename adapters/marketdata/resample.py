"""Aggregate bars into coarser UTC-aligned buckets (1m -> 5m, 15m, 1h, 1d), exactly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from adapters.marketdata.errors import MarketDataError
from domain.market import INTERVAL_MICROSECONDS, Bar


def resample(bars: Sequence[Bar], interval: str) -> list[Bar]:
    """Bars of one symbol, in time order, aggregated into ``interval`` buckets.

    Buckets start at multiples of the interval since the Unix epoch (so 1d buckets are UTC
    days). open = first, high = max, low = min, close = last, volume = sum. Partial buckets at
    the edges or around gaps are kept. Refuses a target finer than the data's own interval.
    """
    if interval not in INTERVAL_MICROSECONDS:
        raise MarketDataError(
            f"unknown interval {interval!r}; expected one of {', '.join(INTERVAL_MICROSECONDS)}"
        )
    if not bars:
        return []
    width = INTERVAL_MICROSECONDS[interval]
    _check_input(bars, width, interval)
    out: list[Bar] = []
    first = bars[0]
    bucket = first.time_us - first.time_us % width
    high, low, volume, opening, last = first.high, first.low, first.volume, first, first
    for bar in bars[1:]:
        start = bar.time_us - bar.time_us % width
        if start != bucket:
            out.append(Bar(first.symbol, bucket, opening.open, high, low, last.close, volume))
            bucket, high, low, volume, opening = start, bar.high, bar.low, bar.volume, bar
        else:
            high = max(high, bar.high)
            low = min(low, bar.low)
            volume += bar.volume
        last = bar
    out.append(Bar(first.symbol, bucket, opening.open, high, low, last.close, volume))
    return out


def _check_input(bars: Sequence[Bar], width: int, interval: str) -> None:
    symbols = {bar.symbol for bar in bars}
    if len(symbols) > 1:
        raise MarketDataError(f"resample one symbol at a time; got {', '.join(sorted(symbols))}")
    steps = [later.time_us - earlier.time_us for earlier, later in pairwise(bars)]
    if any(step <= 0 for step in steps):
        raise MarketDataError("resample needs bars in strictly increasing time order")
    if not steps:
        return
    source = Counter(steps).most_common(1)[0][0]
    if width < source:
        raise MarketDataError(
            f"cannot resample to {interval}: it is finer than the bars' own interval "
            f"({source // 1_000_000} s); resampling only aggregates"
        )
    if width % source:
        raise MarketDataError(
            f"cannot resample {source // 1_000_000} s bars to {interval}: not a whole multiple"
        )
