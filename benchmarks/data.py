"""Deterministic SYNTHETIC OHLCV bars: geometric Brownian motion with regimes.

Not market data. A seeded Markov chain switches between a bull trend, a bear trend and a
mean-reverting range (an Ornstein-Uhlenbeck pull towards the level where the range began), so
trend-following and mean-reversion strategies both find something to trade. The same seed
always gives the same bars, on any machine (numpy PCG64; prices rounded to the tick).

    python -m benchmarks.data --sample            # rewrite the bundled sample CSV
    python -m benchmarks.data --bars 1000000 --out /tmp/bars.csv
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from domain.market import INTERVAL_MICROSECONDS, Bar

START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
MINUTES_PER_YEAR = 365 * 24 * 60


@dataclass(frozen=True, slots=True)
class Regime:
    """Per-year drift and volatility, and the per-bar pull back to the range level."""

    name: str
    annual_drift: float
    annual_volatility: float
    reversion: float


REGIMES = (
    Regime("bull", 3.0, 0.55, 0.0),
    Regime("bear", -3.0, 0.65, 0.0),
    Regime("range", 0.0, 0.35, 0.03),
)
TRANSITIONS = np.array(  # row: from regime, column: to regime (on a switch)
    [[0.0, 0.35, 0.65], [0.35, 0.0, 0.65], [0.5, 0.5, 0.0]]
)


@dataclass(frozen=True, slots=True)
class BarArrays:
    """Bars as arrays: open time (UTC µs), OHLC rounded to ``tick``, volume to 0.001."""

    time_us: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    regime: np.ndarray
    tick: float


def generate(
    bars: int,
    *,
    seed: int = 42,
    interval: str = "1m",
    start_price: float = 42_000.0,
    tick: float = 0.01,
    mean_regime_bars: int = 600,
    volatility_scale: float = 1.0,
    start_us: int = START_US,
) -> BarArrays:
    """``bars`` consecutive bars (no gaps) of one synthetic instrument."""
    rng = np.random.Generator(np.random.PCG64(seed))
    width = INTERVAL_MICROSECONDS[interval]
    years_per_bar = width / 60_000_000 / MINUTES_PER_YEAR
    regimes = _regime_path(rng, bars, mean_regime_bars)
    drift = np.array([r.annual_drift * years_per_bar for r in REGIMES])[regimes]
    unit = volatility_scale * math.sqrt(years_per_bar)
    sigma = np.array([r.annual_volatility * unit for r in REGIMES])[regimes]
    pull = np.array([r.reversion for r in REGIMES])[regimes]
    shocks = rng.standard_normal(bars)
    log_close = _walk(math.log(start_price), drift, sigma, pull, shocks, regimes)
    close = _round(np.exp(log_close), tick)
    open_ = np.empty(bars)
    open_[0] = _round(np.array([start_price]), tick)[0]
    open_[1:] = close[:-1]
    wick = np.abs(rng.standard_normal((2, bars))) * sigma * 0.6
    high = np.ceil(np.maximum(open_, close) * np.exp(wick[0]) / tick - 1e-9) * tick
    low = np.floor(np.minimum(open_, close) * np.exp(-wick[1]) / tick + 1e-9) * tick
    high = np.round(np.maximum(high, np.maximum(open_, close)), 8)
    low = np.round(np.clip(np.minimum(low, np.minimum(open_, close)), tick, None), 8)
    activity = 1.0 + 4.0 * np.abs(log_close - np.concatenate(([log_close[0]], log_close[:-1])))
    activity /= sigma
    volume = np.round(rng.lognormal(0.0, 0.5, bars) * np.minimum(activity, 50.0), 3)
    times = start_us + np.arange(bars, dtype=np.int64) * width
    return BarArrays(times, open_, high, low, close, volume + 0.001, regimes, tick)


def _regime_path(rng: np.random.Generator, bars: int, mean_bars: int) -> np.ndarray:
    """Regime index per bar: geometric durations, switches drawn from ``TRANSITIONS``."""
    path = np.empty(bars, dtype=np.int64)
    regime, position = 2, 0
    while position < bars:
        length = int(rng.geometric(1.0 / mean_bars))
        path[position : position + length] = regime
        position += length
        regime = int(rng.choice(len(REGIMES), p=TRANSITIONS[regime]))
    return path


def _walk(
    start: float,
    drift: np.ndarray,
    sigma: np.ndarray,
    pull: np.ndarray,
    shocks: np.ndarray,
    regimes: np.ndarray,
) -> np.ndarray:
    """Log prices: drift + noise, plus a pull to the level where each range regime began."""
    steps = (drift - 0.5 * sigma**2 + sigma * shocks).tolist()
    pulls = pull.tolist()
    kinds = regimes.tolist()
    out = [0.0] * len(steps)
    level = anchor = start
    previous_kind = -1
    for index, step in enumerate(steps):
        if kinds[index] != previous_kind:
            anchor, previous_kind = level, kinds[index]
        level += step + pulls[index] * (anchor - level)
        out[index] = level
    return np.array(out)


def _round(values: np.ndarray, tick: float) -> np.ndarray:
    return np.round(np.round(values / tick) * tick, _decimals_of(tick))


def _decimals_of(tick: float) -> int:
    return max(0, -math.floor(math.log10(tick)))


def to_table(arrays: BarArrays, symbol: str | None = None) -> pa.Table:
    """An Arrow table with ISO 8601 timestamps and prices as fixed-point text."""
    places = _decimals_of(arrays.tick)
    stamps = pa.array(arrays.time_us // 1_000_000, pa.timestamp("s", tz="UTC"))
    columns: dict[str, pa.Array] = {
        "timestamp": pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ"),
    }
    if symbol is not None:
        columns["symbol"] = pa.array([symbol] * len(arrays.time_us))
    for name in ("open", "high", "low", "close"):
        columns[name] = _fixed(getattr(arrays, name), places)
    columns["volume"] = _fixed(arrays.volume, 3)
    return pa.table(columns)


def _fixed(values: np.ndarray, places: int) -> pa.Array:
    """Fixed-point text without going through binary repr noise (e.g. 42005.30)."""
    scaled = np.rint(values * 10**places).astype(np.int64)
    whole, fraction = np.divmod(scaled, 10**places)
    if places == 0:
        return pa.array(whole.astype(str))
    text = np.char.add(
        np.char.add(whole.astype(str), "."), np.char.zfill(fraction.astype(str), places)
    )
    return pa.array(text.tolist())


def write_csv(table: pa.Table, path: Path) -> Path:
    """Plain CSV: an unquoted header line, then unquoted values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as sink:
        sink.write((",".join(table.column_names) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        pacsv.write_csv(table, sink, options)
    return path


def to_bars(arrays: BarArrays, symbol: str) -> list[Bar]:
    """The same bars as exact ``Bar`` objects (prices from their fixed-point text)."""
    table = to_table(arrays)
    columns = [list(map(Decimal, table.column(n).to_pylist())) for n in ("open", "high", "low")]
    close = list(map(Decimal, table.column("close").to_pylist()))
    volume = list(map(Decimal, table.column("volume").to_pylist()))
    times = arrays.time_us.tolist()
    return list(map(Bar, repeat(symbol), times, *columns, close, volume))


SAMPLE_DAYS = 42
SAMPLE_SPECS = (  # symbol, seed, start price, volatility scale
    ("BTCUSDT", 20240101, 42_000.0, 1.0),
    ("ETHUSDT", 20240102, 2_300.0, 1.3),
)


def sample_table() -> pa.Table:
    """The bundled sample: both symbols' 5-minute bars interleaved in time order."""
    bars = SAMPLE_DAYS * 288
    tables = [
        to_table(
            generate(
                bars,
                seed=seed,
                interval="5m",
                start_price=price,
                mean_regime_bars=400,
                volatility_scale=scale,
            ),
            symbol,
        )
        for symbol, seed, price, scale in SAMPLE_SPECS
    ]
    both = pa.concat_tables(tables)
    order = pc.sort_indices(both, sort_keys=[("timestamp", "ascending"), ("symbol", "ascending")])
    return both.take(order)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write synthetic OHLCV bars as CSV.")
    parser.add_argument("--sample", action="store_true", help="rewrite the bundled sample CSV")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--out", type=Path, default=Path("var/bench/bars.csv"))
    args = parser.parse_args()
    if args.sample:
        from adapters.marketdata.sample import SAMPLE_CSV

        print(write_csv(sample_table(), SAMPLE_CSV))
        return
    print(write_csv(to_table(generate(args.bars, seed=args.seed), args.symbol), args.out))


if __name__ == "__main__":
    main()
