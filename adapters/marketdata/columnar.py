"""One symbol's bars kept in columns (a ``domain.market.BarSource``): open times as int64 and
each value column as scaled integers (``FixedPointColumn``: the file's decimal places, exact;
``MixedPointColumn`` where the places differ from row to row) or, where a column does not fit
that (exponent notation, huge values), as codes into its distinct texts (``TextColumn``). A
``Bar`` is built only when read, a range at a time, with the same ``Decimal`` its text always
gave: a million bars hold ~50 MB of columns instead of ~1 GB of objects."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

import numpy as np
import pyarrow as pa

from domain.market import Bar, build_column_bars


class ValueColumn(Protocol):
    def take(self, start: int, stop: int) -> list[Decimal]:
        """The exact Decimals of rows ``start:stop``."""
        ...


class FixedPointColumn:
    """Integers scaled by ``10**places``: row ``i`` is ``Decimal(values[i]) * 10**-places``,
    which has exactly ``places`` decimal places as the file's text did (``42000.00``)."""

    __slots__ = ("_places", "_quantum", "_values")

    def __init__(self, values: np.ndarray, places: int) -> None:
        self._values = values
        self._places = places
        self._quantum = Decimal(1).scaleb(-places)

    def take(self, start: int, stop: int) -> list[Decimal]:
        quantum = self._quantum
        return [Decimal(value) * quantum for value in self._values[start:stop].tolist()]

    def take_after(
        self, start: int, stop: int, closes: ValueColumn, closed: list[Decimal]
    ) -> list[Decimal]:
        """``take``, but where a row's value equals the previous row's close (an open is
        usually the previous close) that close's Decimal is used, not a new one: the same
        integer with the same places is the same Decimal. ``closed`` is ``closes.take(start,
        stop)``."""
        if start == 0 or not isinstance(closes, FixedPointColumn) or closes._places != self._places:
            return self.take(start, stop)
        values = self._values[start:stop]
        same = (values == closes._values[start - 1 : stop - 1]).tolist()
        previous = [*closes.take(start - 1, start), *closed[:-1]]
        quantum = self._quantum
        return [
            before if equal else Decimal(value) * quantum
            for before, equal, value in zip(previous, same, values.tolist(), strict=True)
        ]

    def __reduce__(self) -> tuple[object, ...]:
        return FixedPointColumn, (self._values, self._places)


_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(19))  # 10**-places, exactly


class MixedPointColumn:
    """Integers each scaled by its own row's ``10**places``: a float column's shortest texts
    (``42000``, ``41996.46``) as exactly as ``FixedPointColumn`` keeps one-place columns."""

    __slots__ = ("_places", "_values")

    def __init__(self, values: np.ndarray, places: np.ndarray) -> None:
        self._values = values
        self._places = places

    def take(self, start: int, stop: int) -> list[Decimal]:
        quanta = _QUANTA
        places: list[int] = self._places[start:stop].tolist()
        values: list[int] = self._values[start:stop].tolist()
        return [Decimal(value) * quanta[place] for value, place in zip(values, places, strict=True)]

    def __reduce__(self) -> tuple[object, ...]:
        return MixedPointColumn, (self._values, self._places)


class TextColumn:
    """Codes into distinct number texts; each text becomes its Decimal once, when first read,
    and is shared by every row that has it."""

    __slots__ = ("_codes", "_decimals", "_made", "_texts")

    def __init__(self, codes: np.ndarray, texts: pa.Array) -> None:
        self._codes = codes
        self._texts = texts
        self._decimals = np.empty(len(texts), dtype=object)
        self._made = np.zeros(len(texts), dtype=bool)

    def take(self, start: int, stop: int) -> list[Decimal]:
        codes = self._codes[start:stop]
        missing = codes[~self._made[codes]]
        if len(missing):
            new = np.unique(missing)
            self._decimals[new] = list(map(Decimal, self._texts.take(pa.array(new)).to_pylist()))
            self._made[new] = True
        values: list[Decimal] = self._decimals[codes].tolist()
        return values

    def __reduce__(self) -> tuple[object, ...]:
        return TextColumn, (self._codes, self._texts)


class ColumnarBars:
    """``symbol``'s bars: open times (µs, int64) and the open, high, low, close and volume
    columns, all of one length."""

    __slots__ = ("_columns", "_symbol", "_times")

    def __init__(self, symbol: str, times: np.ndarray, columns: tuple[ValueColumn, ...]) -> None:
        self._symbol = symbol
        self._times = times
        self._columns = columns

    def __len__(self) -> int:
        return len(self._times)

    def bars(self, start: int, stop: int) -> list[Bar]:
        """The bars ``start:stop`` with their closes; the other values are made for the whole
        range when a bar of it is first asked for one (``domain.market.ColumnBar``)."""
        closes = self._columns[3].take(start, stop)
        times: list[int] = self._times[start:stop].tolist()
        return build_column_bars(
            self._symbol, times, closes, _RangeColumns(self._columns, start, stop, closes)
        )

    def open_times(self) -> np.ndarray:
        return self._times

    @property
    def columns(self) -> tuple[ValueColumn, ...]:
        """How each value column is kept (open, high, low, close, volume)."""
        return self._columns

    def __reduce__(self) -> tuple[object, ...]:
        return ColumnarBars, (self._symbol, self._times, self._columns)


class _RangeColumns:
    """One range's value columns, each taken when first asked (opens reuse the closes of the
    bar before, as ``FixedPointColumn.take_after`` does)."""

    __slots__ = ("_closes", "_columns", "_start", "_stop", "_taken")

    def __init__(
        self, columns: tuple[ValueColumn, ...], start: int, stop: int, closes: list[Decimal]
    ) -> None:
        self._columns = columns
        self._start = start
        self._stop = stop
        self._closes = closes
        self._taken: list[list[Decimal] | None] = [None, None, None, closes, None]

    def column(self, number: int) -> list[Decimal]:
        taken = self._taken[number]
        if taken is None:
            column, start, stop = self._columns[number], self._start, self._stop
            if number == 0 and isinstance(column, FixedPointColumn):
                taken = column.take_after(start, stop, self._columns[3], self._closes)
            else:
                taken = column.take(start, stop)
            self._taken[number] = taken
        return taken
