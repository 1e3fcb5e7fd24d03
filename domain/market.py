"""Market data as the domain sees it: OHLCV bars with exact prices, and one symbol's series."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Self

from domain.events.envelope import from_microseconds


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``time_us`` is the bar's open time in UTC microseconds."""

    symbol: str
    time_us: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @property
    def time(self) -> datetime:
        return from_microseconds(self.time_us)


class MisfiledBarError(ValueError):
    """A bar of one symbol is among another symbol's bars."""


class BarSeries(tuple[Bar, ...]):
    """One symbol's bars, immutable, with the digest that identifies them in a run's config.

    ``digest`` is ``bars_digest`` of the bars: computed on first use and kept, or supplied by a
    loader that computed it from the same values (``with_digest``). A tuple, not a list, so the
    bars can never change under a digest that was taken of them; every bar's own symbol is
    checked, so the digest (which writes ``symbol`` on each line) describes them exactly.
    Slices and concatenations are plain tuples: they carry no digest.
    """

    _symbol: str
    _digest: str | None

    def __new__(cls, symbol: str, bars: Iterable[Bar]) -> Self:
        series = super().__new__(cls, bars)
        _check_symbols(symbol, series)
        series._symbol = symbol
        series._digest = None
        return series

    @classmethod
    def with_digest(cls, symbol: str, bars: Iterable[Bar], digest: str) -> Self:
        """For loaders only: ``digest`` must be what ``bars_digest`` gives for these bars, so
        computed from the very values the bars were built from (it is trusted, not checked)."""
        series = cls(symbol, bars)
        series._digest = digest
        return series

    @property
    def symbol(self) -> str:
        return self._symbol

    @property
    def digest(self) -> str:
        """Hex SHA-256 of one ``bars_digest`` line per bar (~1 s per million bars, once)."""
        if self._digest is None:
            self._digest = _lines_digest(self._symbol, self)
        return self._digest

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with the digest if known (``lh optimize`` workers get the bars this way)."""
        return _unpickled_series, (self._symbol, tuple(self), self._digest)


def _unpickled_series(symbol: str, bars: tuple[Bar, ...], digest: str | None) -> BarSeries:
    if digest is None:
        return BarSeries(symbol, bars)
    return BarSeries.with_digest(symbol, bars, digest)


def _check_symbols(symbol: str, rows: Sequence[Bar]) -> None:
    """Raise ``MisfiledBarError`` naming the first bar that is not ``symbol``'s (~10 ms per 1M)."""
    symbols = [bar.symbol for bar in rows]
    if symbols.count(symbol) != len(symbols):
        index = next(index for index, found in enumerate(symbols) if found != symbol)
        raise MisfiledBarError(
            f"bar {index} of the {symbol!r} bars is for symbol {symbols[index]!r}"
        )


def bars_digest(symbol: str, rows: Sequence[Bar]) -> str:
    """Hex SHA-256 over one line ``symbol,time_us,open,high,low,close,volume\\n`` per bar, with
    the exact ``str`` of each Decimal, so ``1.0`` and ``1.00`` differ as they do in the events.

    A ``BarSeries`` of ``symbol`` knows its digest; other sequences are hashed here and must
    hold only ``symbol``'s bars (else ``MisfiledBarError``): the lines name ``symbol``.
    """
    if isinstance(rows, BarSeries) and rows.symbol == symbol:
        return rows.digest
    _check_symbols(symbol, rows)
    return _lines_digest(symbol, rows)


def _lines_digest(symbol: str, rows: Sequence[Bar]) -> str:
    """The five ``str`` calls per bar are most of the cost, and no exact encoding of a
    ``Decimal`` is cheaper (``float()`` goes through the text too); the per-line f-string is
    the cheapest way measured to build the text around them."""
    digest = hashlib.sha256()
    for start in range(0, len(rows), 10_000):  # one line per bar, hashed in chunks
        digest.update(
            "".join(
                [
                    f"{symbol},{bar.time_us},{bar.open!s},{bar.high!s},{bar.low!s},"
                    f"{bar.close!s},{bar.volume!s}\n"
                    for bar in rows[start : start + 10_000]
                ]
            ).encode()
        )
    return digest.hexdigest()


INTERVAL_MICROSECONDS = {
    "1m": 60_000_000,
    "5m": 300_000_000,
    "15m": 900_000_000,
    "1h": 3_600_000_000,
    "1d": 86_400_000_000,
}
