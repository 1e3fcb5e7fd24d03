"""A run's equity curve kept as what it follows from, not as a Decimal per bar.

Between two fills a one-symbol book does not change: its equity at a bar's close is
``cash + (0 + quantity x close)`` (``Book.valuation``'s operations, in its order), or the same
flat equity at every bar while no position is open. So the engine's hot loop records a bar's
close time and, while a position is open, its close; the equity of any bar is computed when it
is read (the metrics read one bar a day, a report or an artefact all of them). Runs the fast
path does not cover (several symbols) record each bar's equity as it is.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import overload

ZERO = Decimal(0)


class _Segment:
    """Bars ``start..`` with one book: ``flat`` equity, or ``cash`` and ``quantity`` of the one
    symbol held and the bars' ``values`` (closes); explicit equities when ``quantity`` is None
    and ``flat`` is None."""

    __slots__ = ("cash", "flat", "quantity", "start", "values")

    def __init__(
        self,
        start: int,
        *,
        flat: Decimal | None = None,
        cash: Decimal = ZERO,
        quantity: Decimal | None = None,
    ) -> None:
        self.start = start
        self.flat = flat
        self.cash = cash
        self.quantity = quantity
        self.values: list[Decimal] = []

    def equity(self, offset: int) -> Decimal:
        if self.flat is not None:
            return self.flat
        if self.quantity is None:
            return self.values[offset]
        return self.cash + (ZERO + self.quantity * self.values[offset])

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its values as one text: a million Decimals pickle slowly."""
        return _segment, (
            self.start,
            self.flat,
            self.cash,
            self.quantity,
            "\n".join(map(str, self.values)),
        )


def _segment(
    start: int, flat: Decimal | None, cash: Decimal, quantity: Decimal | None, values: str
) -> _Segment:
    segment = _Segment(start, flat=flat, cash=cash, quantity=quantity)
    segment.values = list(map(Decimal, values.split("\n"))) if values else []
    return segment


class EquityTrack:
    """Close times of every bar time processed and the segments their equity follows from."""

    __slots__ = ("_segments", "_starts", "times")

    def __init__(self) -> None:
        self.times = array("q")
        self._segments: list[_Segment] = []
        self._starts: list[int] = []

    def open_flat(self, equity: Decimal) -> None:
        """The bars from the next one on have ``equity`` (no position is open)."""
        self._open(_Segment(len(self.times), flat=equity))

    def open_held(self, cash: Decimal, quantity: Decimal) -> list[Decimal]:
        """The bars from the next one on value ``quantity`` of one symbol at their close;
        returns the list their closes are appended to, one per bar."""
        segment = _Segment(len(self.times), cash=cash, quantity=quantity)
        self._open(segment)
        return segment.values

    def held_closes(self) -> list[Decimal] | None:
        """The closes list of the last segment if it values a position (``open_held``)."""
        segments = self._segments
        if segments and segments[-1].quantity is not None:
            return segments[-1].values
        return None

    def add(self, time_us: int, equity: Decimal) -> None:
        """One bar's equity as it is (the path for books of several symbols)."""
        segments = self._segments
        if not segments or segments[-1].flat is not None or segments[-1].quantity is not None:
            self._open(_Segment(len(self.times)))
        self._segments[-1].values.append(equity)
        self.times.append(time_us)

    def _open(self, segment: _Segment) -> None:
        segments = self._segments
        if segments and segments[-1].start == segment.start:  # no bar in the last one: replace
            segments[-1] = segment
            return
        segments.append(segment)
        self._starts.append(segment.start)

    def held_bars(self) -> int:
        """Bars with a position open, of the segments that value one (``open_held``)."""
        return sum(len(s.values) for s in self._segments if s.quantity is not None and s.quantity)

    def __len__(self) -> int:
        return len(self.times)

    def equity_at(self, index: int) -> Decimal:
        segment = self._segments[bisect_right(self._starts, index) - 1]
        return segment.equity(index - segment.start)

    def values(self) -> EquityValues:
        """Every bar's equity as a read-only sequence, computed when read."""
        return EquityValues(self, len(self.times))


class EquityValues(Sequence[Decimal]):
    """The first ``length`` equities of a track, each computed when read; reading all of them
    in order walks the segments once."""

    __slots__ = ("_length", "_track")

    def __init__(self, track: EquityTrack, length: int) -> None:
        self._track = track
        self._length = length

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Decimal: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Decimal, ...]: ...

    def __getitem__(self, index: int | slice) -> Decimal | tuple[Decimal, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError("equity index out of range")
        return self._track.equity_at(position)

    def __iter__(self) -> Iterator[Decimal]:
        track, length = self._track, self._length
        segments = track._segments
        for number, segment in enumerate(segments):
            stop = segments[number + 1].start if number + 1 < len(segments) else length
            stop = min(stop, length)
            count = stop - segment.start
            if count <= 0:
                return
            if segment.flat is not None:
                yield from [segment.flat] * count
            elif segment.quantity is None:
                yield from segment.values[:count]
            else:
                cash, quantity = segment.cash, segment.quantity
                for close in segment.values[:count]:
                    yield cash + (ZERO + quantity * close)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == self._length and all(
                a == b for a, b in zip(self, other, strict=True)
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __reduce__(self) -> tuple[object, ...]:
        return tuple, (tuple(self),)
