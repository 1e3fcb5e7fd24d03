"""Exact accounting of fills: positions (FIFO lots), cash, fees, realized/unrealized PnL.

Positions follow the one accounting rule of ``domain.accounting`` (FIFO lots).
Every number is a Decimal built only from fill prices, quantities and fees by addition and
multiplication, so the book reconciles exactly with the fills in the log. Each strategy has
its own ``Book`` with its own allocation; a ``Portfolio`` holds the books of one account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from domain.accounting import LotQueue
from domain.events.types import Side
from domain.trades import ClosedTrade

ZERO = Decimal(0)
_DISPLAY = Decimal("0.00000001")
_FEE_SPLIT = Decimal("0.0000000001")


class AccountingError(ValueError):
    """A fill that cannot be booked (non-positive quantity or price, negative fee)."""


@dataclass(slots=True)
class _RoundTrip:
    side: Side
    entry_time_us: int
    entry_quantity: Decimal = ZERO
    entry_notional: Decimal = ZERO
    exit_quantity: Decimal = ZERO
    exit_notional: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(slots=True, kw_only=True)
class Position(LotQueue):
    """One symbol's open lots (FIFO), its realized PnL and its round trip in progress."""

    symbol: str
    realized: Decimal = ZERO
    trip: _RoundTrip | None = None

    @property
    def average_price(self) -> Decimal:
        """Display only (it divides); accounting uses the lots."""
        return (self.cost / self.quantity).quantize(_DISPLAY) if self.quantity else ZERO


@dataclass
class Book:
    """One strategy's capital: cash, positions, marks, fees and closed round trips."""

    strategy: str
    initial_cash: Decimal
    cash: Decimal = ZERO
    fees: Decimal = ZERO
    realized: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    trades: list[ClosedTrade] = field(default_factory=list)
    _open: set[str] = field(default_factory=set, repr=False)  # symbols with a position
    # equity while flat (``cash + 0``) for the cash it was computed from: asked every bar
    _flat: tuple[Decimal, Decimal] = field(default=(ZERO, ZERO), repr=False)

    def __post_init__(self) -> None:
        self.cash = self.initial_cash

    def position(self, symbol: str) -> Decimal:
        held = self.positions.get(symbol)
        return held.quantity if held else ZERO

    def mark(self, symbol: str, price: Decimal) -> None:
        self.marks[symbol] = price

    def apply_fill(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        *,
        fee: Decimal,
        time_us: int,
    ) -> list[ClosedTrade]:
        """Book one execution; returns the round trips it completed (zero, or one)."""
        if quantity <= 0 or price <= 0 or fee < 0:
            raise AccountingError(
                f"cannot book fill {side} {quantity} {symbol} @ {price} fee {fee}"
            )
        held = self.positions.get(symbol)
        if held is None:
            held = self.positions[symbol] = Position(symbol=symbol)
        self.cash -= side.sign * quantity * price + fee
        self.fees += fee
        self.marks.setdefault(symbol, price)
        closed: list[ClosedTrade] = []
        remaining = quantity
        signed = side.sign
        closing = held.closing(signed * quantity)
        close_fee = ZERO
        if closing:
            close_fee = (
                fee if closing == quantity else (fee * closing / quantity).quantize(_FEE_SPLIT)
            )
            realized = held.close(closing, price)
            held.realized += realized
            self.realized += realized
            trip = held.trip
            assert trip is not None
            trip.exit_quantity += closing
            trip.exit_notional += closing * price
            trip.realized += realized
            trip.fees += close_fee
            remaining -= closing
            if held.quantity == 0:
                closed.append(self._finish(symbol, trip, time_us))
                held.trip = None
        if remaining:
            open_fee = fee - close_fee
            held.add(signed * remaining, price, time_us)
            if held.trip is None:
                held.trip = _RoundTrip(side, time_us)
            held.trip.entry_quantity += remaining
            held.trip.entry_notional += remaining * price
            held.trip.fees += open_fee
        if held.quantity:
            self._open.add(symbol)
        else:
            self._open.discard(symbol)
        self.trades.extend(closed)
        return closed

    def _finish(self, symbol: str, trip: _RoundTrip, time_us: int) -> ClosedTrade:
        return ClosedTrade(
            symbol=symbol,
            side=trip.side,
            quantity=trip.entry_quantity,
            entry_time_us=trip.entry_time_us,
            entry_price=(trip.entry_notional / trip.entry_quantity).quantize(_DISPLAY),
            exit_time_us=time_us,
            exit_price=(trip.exit_notional / trip.exit_quantity).quantize(_DISPLAY),
            pnl=trip.realized - trip.fees,
            fees=trip.fees,
        )

    @property
    def positions_value(self) -> Decimal:
        return sum(
            (p.quantity * self.marks[s] for s, p in self.positions.items() if p.quantity), ZERO
        )

    @property
    def unrealized(self) -> Decimal:
        return sum(
            (
                (self.marks[s] - lot.price) * lot.quantity
                for s, p in self.positions.items()
                for lot in p.lots
            ),
            ZERO,
        )

    @property
    def equity(self) -> Decimal:
        # ``cash + positions_value``, with the same Decimal operations in the same order.
        value = ZERO
        marks = self.marks
        for symbol, held in self.positions.items():
            quantity = held.quantity
            if quantity:
                value += quantity * marks[symbol]
        return self.cash + value

    def in_market(self) -> bool:
        """Whether any position is open (cheaper than ``bool(open_positions())``)."""
        return any(held.quantity for held in self.positions.values())

    def valuation(self) -> tuple[Decimal, bool]:
        """``(equity, in_market())`` in one pass over the positions (the engine, every bar)."""
        if not self._open:
            cash, flat = self.cash, self._flat
            if cash is not flat[0]:  # the same Decimal sum as with positions, all flat
                flat = self._flat = (cash, cash + ZERO)
            return flat[1], False
        value = ZERO
        held_any = False
        marks = self.marks
        for symbol, held in self.positions.items():
            quantity = held.quantity
            if quantity:
                value += quantity * marks[symbol]
                held_any = True
        return self.cash + value, held_any

    def open_positions(self) -> dict[str, Decimal]:
        return {s: p.quantity for s, p in sorted(self.positions.items()) if p.quantity}


class Portfolio:
    """The books of one account, one per strategy, each with its own allocation."""

    def __init__(self, allocations: dict[str, Decimal]) -> None:
        self.books = {name: Book(name, cash) for name, cash in allocations.items()}

    def book(self, strategy: str) -> Book:
        try:
            return self.books[strategy]
        except KeyError:
            raise AccountingError(f"no book for strategy {strategy!r}") from None

    def mark(self, symbol: str, price: Decimal) -> None:
        for book in self.books.values():
            book.mark(symbol, price)

    @property
    def cash(self) -> Decimal:
        return sum((b.cash for b in self.books.values()), ZERO)

    @property
    def equity(self) -> Decimal:
        return sum((b.equity for b in self.books.values()), ZERO)
