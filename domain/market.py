"""Market data as the domain sees it: OHLCV bars with exact prices, and one symbol's series."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, Self, overload

import numpy as np

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


class BarColumns(Protocol):
    """A range of bars' value columns, each made into its Decimals when first asked."""

    def column(self, number: int) -> list[Decimal]:
        """Column ``number`` (0 open, 1 high, 2 low, 4 volume) of the range's bars."""
        ...


class ColumnBar(Bar):
    """A ``Bar`` built with its symbol, time and close only: its open, high, low and volume
    are read from its range's columns when first asked (a backtest's loop needs the close of
    every bar, the others only when an order is working or the strategy reads them).
    Equal, hashed, shown and pickled as the ``Bar`` of the same values."""

    __slots__ = ("_columns", "_row")
    _columns: BarColumns
    _row: int

    def __new__(cls, *args: object, **kwargs: object) -> Bar:  # type: ignore[misc]
        """A ``Bar`` of the values given (``dataclasses.replace`` of a ``ColumnBar``)."""
        return Bar(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def open(self) -> Decimal:
        return self._columns.column(0)[self._row]

    @property
    def high(self) -> Decimal:
        return self._columns.column(1)[self._row]

    @property
    def low(self) -> Decimal:
        return self._columns.column(2)[self._row]

    @property
    def volume(self) -> Decimal:
        return self._columns.column(4)[self._row]

    def _values(self) -> tuple[str, int, Decimal, Decimal, Decimal, Decimal, Decimal]:
        return (self.symbol, self.time_us, self.open, self.high, self.low, self.close, self.volume)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Bar):
            return self._values() == (
                other.symbol,
                other.time_us,
                other.open,
                other.high,
                other.low,
                other.close,
                other.volume,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __reduce__(self) -> tuple[object, ...]:
        return Bar, self._values()

    def __repr__(self) -> str:
        return repr(Bar(*self._values()))


_SET_COLUMN_BAR = (
    Bar.__dict__["symbol"].__set__,
    Bar.__dict__["time_us"].__set__,
    Bar.__dict__["close"].__set__,
    ColumnBar.__dict__["_columns"].__set__,
    ColumnBar.__dict__["_row"].__set__,
)


def build_column_bars(
    symbol: str, times: Iterable[int], closes: Iterable[Decimal], columns: BarColumns
) -> list[Bar]:
    """``symbol``'s bars of one range from their open times and closes, the other values
    read from ``columns`` when asked (``ColumnBar``)."""
    new = object.__new__
    set_symbol, set_time, set_close, set_columns, set_row = _SET_COLUMN_BAR
    built: list[Bar] = []
    add = built.append
    for row, (time_us, close) in enumerate(zip(times, closes, strict=True)):
        bar = new(ColumnBar)
        set_symbol(bar, symbol)
        set_time(bar, time_us)
        set_close(bar, close)
        set_columns(bar, columns)
        set_row(bar, row)
        add(bar)
    return built


class MisfiledBarError(ValueError):
    """A bar of one symbol is among another symbol's bars."""


class BarSource(Protocol):
    """Bars kept in columns (a loader's): built as ``Bar`` objects only when read, a range at a
    time, so a run holds the few it is working on instead of millions."""

    def __len__(self) -> int: ...

    def bars(self, start: int, stop: int) -> list[Bar]:
        """The bars ``start:stop`` (0 <= start <= stop <= len), each with its exact Decimals."""
        ...

    def open_times(self) -> np.ndarray:
        """Every bar's ``time_us``, in order, as int64 (an array, not a million ints)."""
        ...


READ_CHUNK = 4_096  # bars built per step when a columnar series is iterated


class BarSeries(Sequence[Bar]):
    """One symbol's bars, immutable, with the digest that identifies them in a run's config.

    ``digest`` is ``bars_digest`` of the bars: computed on first use and kept, or supplied by a
    loader that computed it from the same values (``with_digest``, ``from_source``). The bars
    are a tuple, or a ``BarSource`` of columns (a loader's) that builds them when read; either
    way they can never change under a digest that was taken of them. Every bar's own symbol is
    checked (a source's are its symbol by construction), so the digest (which writes
    ``symbol`` on each line) describes them exactly. Slices and concatenations are plain
    tuples: they carry no digest.
    """

    __slots__ = ("_bars", "_chunk", "_chunk_start", "_digest", "_source", "_symbol")

    def __init__(self, symbol: str, bars: Iterable[Bar]) -> None:
        rows = tuple(bars)
        _check_symbols(symbol, rows)
        self._symbol = symbol
        self._bars: tuple[Bar, ...] | None = rows
        self._source: BarSource | None = None
        self._digest: str | None = None
        self._chunk: list[Bar] = []  # a columnar series' last chunk read by index
        self._chunk_start = 0

    @classmethod
    def with_digest(cls, symbol: str, bars: Iterable[Bar], digest: str) -> Self:
        """For loaders only: ``digest`` must be what ``bars_digest`` gives for these bars, so
        computed from the very values the bars were built from (it is trusted, not checked)."""
        series = cls(symbol, bars)
        series._digest = digest
        return series

    @classmethod
    def from_source(cls, symbol: str, source: BarSource, digest: str) -> Self:
        """For loaders only: ``symbol``'s bars kept in ``source``'s columns; ``digest`` as for
        ``with_digest``, computed from the values the source builds its bars from."""
        series = cls(symbol, ())
        series._bars, series._source, series._digest = None, source, digest
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

    @property
    def source(self) -> BarSource | None:
        """The columns the bars are read from, if they are kept in columns."""
        return self._source

    def open_times(self) -> np.ndarray:
        """Every bar's ``time_us`` in order (int64), without building a columnar series' bars."""
        if self._source is not None:
            return self._source.open_times()
        rows = self._rows()
        return np.fromiter([bar.time_us for bar in rows], dtype=np.int64, count=len(rows))

    def __len__(self) -> int:
        return len(self._source) if self._source is not None else len(self._rows())

    @overload
    def __getitem__(self, index: int) -> Bar: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Bar, ...]: ...

    def __getitem__(self, index: int | slice) -> Bar | tuple[Bar, ...]:
        source = self._source
        if source is None:
            return self._rows()[index]
        size = len(source)
        if isinstance(index, slice):
            start, stop, step = index.indices(size)
            if step != 1:
                return tuple(self)[index]
            return tuple(source.bars(start, max(start, stop)))
        position = index + size if index < 0 else index
        if not 0 <= position < size:
            raise IndexError("bar index out of range")
        offset = position - self._chunk_start
        if not 0 <= offset < len(self._chunk):  # reading bar by bar: a chunk at a time
            self._chunk_start = position - position % READ_CHUNK
            self._chunk = source.bars(self._chunk_start, min(self._chunk_start + READ_CHUNK, size))
            offset = position - self._chunk_start
        return self._chunk[offset]

    def __iter__(self) -> Iterator[Bar]:
        source = self._source
        if source is None:
            yield from self._rows()
            return
        for start in range(0, len(source), READ_CHUNK):
            yield from source.bars(start, min(start + READ_CHUNK, len(source)))

    def __add__(self, other: Sequence[Bar]) -> tuple[Bar, ...]:
        return (*self, *other)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BarSeries):
            return self._symbol == other._symbol and tuple(self) == tuple(other)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kept = "columns" if self._source is not None else "tuple"
        return f"BarSeries({self._symbol!r}, {len(self)} bars in a {kept})"

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with the digest if known (``lh optimize`` workers get the bars this way);
        a columnar series travels as its columns."""
        return _unpickled_series, (self._symbol, self._source or self._rows(), self._digest)

    def _rows(self) -> tuple[Bar, ...]:
        assert self._bars is not None
        return self._bars


def _unpickled_series(
    symbol: str, bars: tuple[Bar, ...] | BarSource, digest: str | None
) -> BarSeries:
    if isinstance(bars, tuple):
        if digest is None:
            return BarSeries(symbol, bars)
        return BarSeries.with_digest(symbol, bars, digest)
    assert digest is not None
    return BarSeries.from_source(symbol, bars, digest)


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
