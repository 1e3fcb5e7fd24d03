"""What a live venue answers beyond the ``Venue`` port: the questions a restart asks.

After a crash the session cannot know whether an order it recorded as submitted reached the
venue, or which fills arrived while it was down. It asks, by the client order id it derived
from the order's event id, and records what it learned before trading again. A venue that
cannot be reached raises ``VenueUnavailableError`` (never a rejection: the order's fate is
unknown, so nothing may be resent blindly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from domain.engine.ports import Venue, VenueReport
from domain.events.types import Liquidity, OrderType, Side
from domain.market import Bar


class VenueUnavailableError(ConnectionError):
    """The venue did not answer (network, timeout, HTTP 5xx or 429); the request's outcome is
    unknown. ``code`` is the venue's or transport's code when there is one."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class VenueRefusedError(Exception):
    """The venue answered no to a question a session must have answered (a wrong or revoked
    key, missing permissions): nothing retries it, so the session stops and says so.
    ``venue`` names the venue, ``code`` the venue's own error code."""

    def __init__(self, message: str, *, venue: str, code: str) -> None:
        super().__init__(message)
        self.venue = venue
        self.code = code


class VenueOrderState(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class VenueOrderStatus:
    """An order as the venue knows it, found by its client order id."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    filled_quantity: Decimal
    state: VenueOrderState
    limit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue reports it; ``venue_fill_id`` is unique at the venue."""

    client_order_id: str
    venue_order_id: str
    venue_fill_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    time_us: int


@dataclass(frozen=True, slots=True)
class VenueBalance:
    currency: str
    total: Decimal
    free: Decimal


class LiveVenue(Venue, Protocol):
    """A venue reached over a network. ``submit``/``cancel`` raise ``VenueUnavailableError``
    when the outcome is unknown; ``on_bar`` polls for reports that arrived since the last
    call."""

    def server_time_us(self) -> int:
        """The venue's clock (the drift check at connect)."""
        ...

    def order_by_client_id(self, client_order_id: str, symbol: str) -> VenueOrderStatus | None:
        """The order the venue holds under this client id, or ``None`` if it never got it."""
        ...

    def open_orders(self, symbols: Sequence[str]) -> list[VenueOrderStatus]: ...

    def fills_since(self, since_us: int, symbols: Sequence[str]) -> list[VenueFill]:
        """Every execution at or after ``since_us`` (the session drops those it recorded)."""
        ...

    def balances(self) -> list[VenueBalance]: ...

    def poll(self) -> Sequence[VenueReport]:
        """Reports that arrived since the last poll (fills, cancels, expiries)."""
        ...


@runtime_checkable
class WarmUpFeed(Protocol):
    """A live feed that also serves history: the closed bars a strategy warms up on.

    ``warmup`` is asked once, before a new run's first bar (the feed then continues after
    the bars it returned); ``history_before`` is asked by a restart for the same bars: the
    last ``bars`` closed before the run's first bar (closed bars do not change at a venue)."""

    def warmup(self, bars: int) -> dict[str, list[Bar]]: ...

    def history_before(self, time_us: int, bars: int) -> dict[str, list[Bar]]: ...
