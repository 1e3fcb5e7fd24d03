"""The local exchange for tests: small in-memory bars, served in this process, and ccxt
clients pointed at it (the real ccxt code runs in every test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from adapters.exchange_local.faults import parse_faults
from adapters.exchange_local.server import (
    DEFAULT_API_KEY,
    DEFAULT_SECRET,
    ExchangeOptions,
    RunningExchange,
    build_exchange,
    running_exchange,
)
from adapters.venue.ccxt_client import VenueCredentials, make_client
from adapters.venue.ccxt_config import CcxtVenueConfig
from adapters.venue.ccxt_venue import CcxtVenue
from domain.market import Bar, BarSeries

MINUTE_US = 60_000_000
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HISTORY = 5
CREDENTIALS = VenueCredentials(DEFAULT_API_KEY, DEFAULT_SECRET)


def minute_bars(symbol: str = "BTCUSDT", count: int = 40, base: int = 30_000) -> BarSeries:
    """A zig-zag of 1-minute bars: bar i opens at base + 10*i (odd bars 5 lower), spans
    +/-50 around its open and closes at the next bar's open."""
    opens = [Decimal(base + 10 * i - (5 if i % 2 else 0)) for i in range(count + 1)]
    return BarSeries(
        symbol,
        [
            Bar(
                symbol,
                START_US + i * MINUTE_US,
                opens[i],
                opens[i] + 50,
                opens[i] - 50,
                opens[i + 1],
                Decimal(10),
            )
            for i in range(count)
        ],
    )


@contextmanager
def local_exchange(faults: str = "", **options: Any) -> Iterator[RunningExchange]:
    """An exchange standing still (speed 0) after ``HISTORY`` closed bars; tests move its
    market with ``next_bar``."""
    series = options.pop("series", None) or {"BTCUSDT": minute_bars()}
    settings = ExchangeOptions(speed=0, history=HISTORY, faults=parse_faults(faults), **options)
    with running_exchange(build_exchange(settings, series)) as running:
        yield running


def next_bar(running: RunningExchange, bars: int = 1) -> None:
    running.exchange.book.clock.skip(bars * MINUTE_US)


def config(running: RunningExchange, **fields: Any) -> CcxtVenueConfig:
    return CcxtVenueConfig(url=running.url, symbols=("BTCUSDT",), **fields)


def client(running: RunningExchange, credentials: VenueCredentials | None = CREDENTIALS) -> Any:
    """A ccxt ``binance`` client on the local exchange."""
    ccxt_client = make_client(config(running), credentials)
    ccxt_client.enableRateLimit = False
    return ccxt_client


def venue(running: RunningExchange) -> CcxtVenue:
    return CcxtVenue(config(running), client=client(running))
