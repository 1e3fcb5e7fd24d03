"""Running the local exchange: in this process on a thread (tests) or in the foreground
(``lh exchange serve``)."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import FrameType

import uvicorn

from adapters.exchange_local.app import LocalExchange
from adapters.exchange_local.book import Book
from adapters.exchange_local.clock import MarketClock
from adapters.exchange_local.defaults import (
    DEFAULT_API_KEY,
    DEFAULT_BALANCES,
    DEFAULT_HISTORY,
    DEFAULT_SECRET,
)
from adapters.exchange_local.faults import FaultSpec
from adapters.exchange_local.markets import market_of
from adapters.marketdata.loader import load_bars
from adapters.marketdata.sample import SAMPLE_CSV
from domain.market import BarSeries


@dataclass(frozen=True)
class ExchangeOptions:
    """What ``lh exchange serve`` is asked for; ``history`` bars have closed at start."""

    data: Path = SAMPLE_CSV
    speed: float = 1.0
    api_key: str = DEFAULT_API_KEY
    secret: str = DEFAULT_SECRET
    faults: FaultSpec = field(default_factory=FaultSpec)
    balances: Mapping[str, Decimal] | None = None
    history: int = DEFAULT_HISTORY
    commission: Decimal = Decimal("0.001")
    volume_cap: Decimal | None = None
    """The largest fraction of a bar's volume the orders of one bar may take (partial fills)."""


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def build_exchange(
    options: ExchangeOptions, series: Mapping[str, BarSeries] | None = None
) -> LocalExchange:
    """The exchange over ``series`` (default: the bars in ``options.data``)."""
    loaded = dict(series) if series is not None else load_bars(options.data)
    markets = {market.symbol: market for market in map(market_of, loaded.values())}
    first = min(market.bars[0].time_us for market in markets.values())
    interval = min(market.interval_us for market in markets.values())
    clock = MarketClock(first + options.history * interval, options.speed)
    balances = dict(options.balances if options.balances is not None else DEFAULT_BALANCES)
    book = Book(markets, clock, balances, options.commission, options.volume_cap)
    if options.speed != 0:
        book.wall_ms = wall_ms
    book.advance()
    return LocalExchange(book, options.api_key, options.secret, options.faults)


@dataclass
class RunningExchange:
    exchange: LocalExchange
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def _server(exchange: LocalExchange, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        exchange.app, log_level=log_level, access_log=False, lifespan="off", timeout_keep_alive=30
    )
    return uvicorn.Server(config)


def bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections queue from now on, before the server accepts them
    return sock


@contextmanager
def running_exchange(
    exchange: LocalExchange, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningExchange]:
    """Serve ``exchange`` on a thread of this process until the block ends; yields its URL."""
    sock = bound_socket(host, port)
    server = _server(exchange, "critical")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        raise RuntimeError("the local exchange did not start")
    url = f"http://{host}:{sock.getsockname()[1]}"
    try:
        yield RunningExchange(exchange, url, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(exchange: LocalExchange, sock: socket.socket) -> None:
    """Serve in the foreground until interrupted (SIGINT/SIGTERM end it cleanly)."""
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    for stop in (signal.SIGINT, signal.SIGTERM):  # uvicorn re-raises the signal it stopped on
        signal.signal(stop, _stopped)
    _server(exchange, "warning").run(sockets=[sock])


def _stopped(number: int, frame: FrameType | None) -> None:
    """After uvicorn's graceful shutdown: a requested stop, not a failure (exit 0)."""
