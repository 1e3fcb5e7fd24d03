"""The ports the trading engine runs against: a venue, an event sink, a clock and a bar feed.

Backtest, paper and live differ only in what is plugged in here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from domain.events.envelope import NewEvent
from domain.events.types import Liquidity, OrderType, Side, TimeInForce
from domain.market import Bar


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An approved order as handed to a venue."""

    order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC


@dataclass(frozen=True, slots=True)
class Accepted:
    order_id: str
    venue_order_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Filled:
    """One execution; ``leaves`` is what is still working after it."""

    order_id: str
    venue_order_id: str
    venue_fill_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    leaves: Decimal


@dataclass(frozen=True, slots=True)
class Canceled:
    order_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Expired:
    order_id: str


VenueReport = Accepted | Rejected | Filled | Canceled | Expired


class Venue(Protocol):
    """Where approved orders go. Only the engine holds one; strategies never do."""

    name: str

    def submit(self, order: VenueOrder) -> list[VenueReport]: ...

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]: ...

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        """Work open orders against a new bar (an empty sequence when nothing happened)."""
        ...

    def open_order_ids(self) -> list[str]:
        """Orders the venue still works (compared with ours after a restart)."""
        ...


class EventSink(Protocol):
    """Where recorded facts go (in production: ``EventStore.append``)."""

    def append(self, events: Sequence[NewEvent]) -> object: ...


class Clock(Protocol):
    """Event time. A simulated clock follows the bars; a wall clock ignores them."""

    def now_us(self) -> int: ...

    def observe(self, time_us: int) -> None: ...


class LiveFeed(Protocol):
    """Bars as they close, grouped by close time (one group per timestamp, any symbols)."""

    def __iter__(self) -> Iterator[Sequence[Bar]]: ...


class SimulatedClock:
    """Time is whatever the last bar said it is."""

    def __init__(self, start_us: int = 0) -> None:
        self._now = start_us

    def now_us(self) -> int:
        return self._now

    def observe(self, time_us: int) -> None:
        self._now = time_us


class CollectingSink:
    """Keeps appended events in memory (optimizer workers, recovery replays, tests)."""

    def __init__(self) -> None:
        self.events: list[NewEvent] = []

    def append(self, events: Sequence[NewEvent]) -> None:
        self.events.extend(events)
