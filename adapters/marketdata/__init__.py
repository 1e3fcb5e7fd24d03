"""Market data from files: load and validate OHLCV bars (CSV, Parquet), resample them."""

from __future__ import annotations

from adapters.marketdata.errors import GapsError, MarketDataError
from adapters.marketdata.loader import load_bars, read_bars
from adapters.marketdata.resample import resample
from adapters.marketdata.sample import SAMPLE_CSV, SAMPLE_SYMBOLS
from adapters.marketdata.validation import CalendarGaps, DataReport, Gap, Problem, validate_bars

__all__ = [
    "SAMPLE_CSV",
    "SAMPLE_SYMBOLS",
    "CalendarGaps",
    "DataReport",
    "Gap",
    "GapsError",
    "MarketDataError",
    "Problem",
    "load_bars",
    "read_bars",
    "resample",
    "validate_bars",
]
