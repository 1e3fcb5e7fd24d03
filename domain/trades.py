"""A round trip (entry to exit) and an equity point: what performance metrics are computed from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
