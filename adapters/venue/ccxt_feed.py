"""A ``LiveFeed`` of closed bars from a ccxt exchange, by polling ``fetch_ohlcv``.

The last candle an exchange returns is the one still forming, so it is never yielded; a bar
is yielded once a later one exists. Every new bar is validated with its predecessor by the
same rules as bars from a file (``adapters.marketdata.validation``): a bad price, a bar out
of order or a gap (unless allowed) ends the feed with ``FeedDataError``. ``warmup`` fetches the
history a strategy needs before the first live bar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import ccxt

from adapters.marketdata.validation import validate_bars
from adapters.venue.ccxt_client import decimal_safe
from domain.engine.engine import parse_interval
from domain.engine.live_ports import VenueUnavailableError
from domain.market import Bar

MAX_CANDLES = 1000


class FeedDataError(ValueError):
    """The venue sent bars that fail validation; the message names symbol, time and reason."""


class CcxtBarFeed:
    """Closed ``timeframe`` bars of ``symbols`` (ours, e.g. ``BTCUSDT``; ``markets`` maps them
    to ccxt's), grouped by open time, polled every ``poll_s`` seconds."""

    def __init__(
        self,
        client: Any,
        symbols: Sequence[str],
        timeframe: str,
        *,
        poll_s: float = 1.0,
        allow_gaps: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = decimal_safe(client)
        self.symbols = list(symbols)
        self.timeframe = timeframe
        self.poll_s = poll_s
        self.allow_gaps = allow_gaps
        self._sleep = sleep
        self._last: dict[str, Bar] = {}
        self._pending: dict[str, list[Bar]] = {symbol: [] for symbol in self.symbols}

    def warmup(self, bars: int) -> dict[str, list[Bar]]:
        """The last ``bars`` closed bars per symbol; the feed then continues after them."""
        history: dict[str, list[Bar]] = {}
        for symbol in self.symbols:
            closed = self._closed(symbol, None, min(bars + 1, MAX_CANDLES))[-bars:] if bars else []
            self._check(symbol, closed)
            history[symbol] = closed
            if closed:
                self._last[symbol] = closed[-1]
        return history

    def history_before(self, time_us: int, bars: int) -> dict[str, list[Bar]]:
        """The last ``bars`` closed bars per symbol that opened before ``time_us`` (a restart
        warms its strategy up on what ``warmup`` gave the run's first session)."""
        history: dict[str, list[Bar]] = {}
        since_ms = (time_us - bars * parse_interval(self.timeframe)) // 1000
        for symbol in self.symbols:
            rows = self._rows(symbol, since_ms, bars + 1) if bars else []
            closed = [bar for bar in rows if bar.time_us < time_us][-bars:] if bars else []
            self._check(symbol, closed)
            history[symbol] = closed
        return history

    def __iter__(self) -> Iterator[Sequence[Bar]]:
        while True:
            group = self._next_group()
            if group is None:
                self._sleep(self.poll_s)
                continue
            yield group

    def poll_once(self) -> list[Sequence[Bar]]:
        """Every group that closed since the last call (none: an empty list)."""
        groups: list[Sequence[Bar]] = []
        while (group := self._next_group()) is not None:
            groups.append(group)
        return groups

    def _next_group(self) -> Sequence[Bar] | None:
        for symbol in self.symbols:
            if not self._pending[symbol]:
                self._fetch(symbol)
        if not all(self._pending[symbol] for symbol in self.symbols):
            return None
        time_us = min(self._pending[symbol][0].time_us for symbol in self.symbols)
        return [
            self._pending[symbol].pop(0)
            for symbol in self.symbols
            if self._pending[symbol][0].time_us == time_us
        ]

    def _fetch(self, symbol: str) -> None:
        last = self._last.get(symbol)
        since = last.time_us // 1000 + 1 if last is not None else None
        fresh = [
            bar
            for bar in self._closed(symbol, since, MAX_CANDLES)
            if last is None or bar.time_us > last.time_us
        ]
        if not fresh:
            return
        self._check(symbol, [last, *fresh] if last is not None else fresh)
        self._pending[symbol].extend(fresh)
        self._last[symbol] = fresh[-1]

    def _closed(self, symbol: str, since_ms: int | None, limit: int) -> list[Bar]:
        """The bars returned but the last (the one still forming)."""
        return self._rows(symbol, since_ms, limit)[:-1]

    def _rows(self, symbol: str, since_ms: int | None, limit: int) -> list[Bar]:
        try:
            market = self._market(symbol)
            rows = self.client.fetch_ohlcv(market, self.timeframe, since_ms, limit)
        except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as error:
            raise VenueUnavailableError(
                f"{self.client.id} did not answer for {symbol} bars: {type(error).__name__}",
                code=type(error).__name__,
            ) from None
        return [_bar(symbol, row) for row in rows]

    def _market(self, symbol: str) -> str:
        if not self.client.markets:
            self.client.load_markets()
        if symbol in self.client.markets:
            return symbol
        found = (self.client.markets_by_id or {}).get(symbol)
        if not found:
            raise FeedDataError(f"{self.client.id} lists no market {symbol}")
        return str(found[0]["symbol"])

    def _check(self, symbol: str, bars: list[Bar]) -> None:
        report = validate_bars(bars, source=f"{self.client.id} {symbol} {self.timeframe} bars")
        if not report.ok:
            raise FeedDataError(report.problem_message())
        if report.gaps and not self.allow_gaps:
            raise FeedDataError(report.gap_message())


def _bar(symbol: str, row: Sequence[Any]) -> Bar:
    def exact(value: Any) -> Decimal:
        return Decimal(str(value))

    return Bar(
        symbol=symbol,
        time_us=int(row[0]) * 1000,
        open=exact(row[1]),
        high=exact(row[2]),
        low=exact(row[3]),
        close=exact(row[4]),
        volume=exact(row[5]),
    )
