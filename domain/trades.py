"""A round trip (entry to exit) and an equity point: what performance metrics are computed from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import overload

from domain.events.types import Side


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One round trip. ``side`` is the entry's side (BUY for a long); ``pnl`` is net of fees."""

    symbol: str
    side: Side
    quantity: Decimal
    entry_time_us: int
    entry_price: Decimal
    exit_time_us: int
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class EquityPoint:
    time_us: int
    equity: Decimal


@dataclass(frozen=True, slots=True, eq=False)
class EquityCurve(Sequence[EquityPoint]):
    """Equity over time as two parallel columns that read as a sequence of ``EquityPoint``.

    A run has a point per bar time, a million or more: two columns (tuples, an int64
    ``array``, a run's ``EquityValues`` that computes each equity when read) are cheap to
    build, copy and pickle, where as many ``EquityPoint`` objects would cost most of a second
    to create and slow every garbage collection. Points are made only when one is asked for.
    """

    times: Sequence[int]
    equity: Sequence[Decimal]

    def __post_init__(self) -> None:
        if len(self.times) != len(self.equity):
            raise ValueError(
                f"{len(self.times)} times but {len(self.equity)} equity values in a curve"
            )

    @classmethod
    def of(cls, points: Iterable[EquityPoint]) -> EquityCurve:
        """The curve of ``points``, in the order given."""
        listed = list(points)
        return cls(tuple(p.time_us for p in listed), tuple(p.equity for p in listed))

    def __len__(self) -> int:
        return len(self.times)

    @overload
    def __getitem__(self, index: int) -> EquityPoint: ...

    @overload
    def __getitem__(self, index: slice) -> EquityCurve: ...

    def __getitem__(self, index: int | slice) -> EquityPoint | EquityCurve:
        if isinstance(index, slice):
            return EquityCurve(self.times[index], self.equity[index])
        return EquityPoint(self.times[index], self.equity[index])

    def __iter__(self) -> Iterator[EquityPoint]:
        return map(EquityPoint, self.times, self.equity)

    def __eq__(self, other: object) -> bool:
        """Equal to a curve of the same points, whatever sequences hold them."""
        if not isinstance(other, EquityCurve):
            return NotImplemented
        return tuple(self.times) == tuple(other.times) and tuple(self.equity) == tuple(other.equity)

    def __hash__(self) -> int:
        return hash((tuple(self.times), tuple(self.equity)))
