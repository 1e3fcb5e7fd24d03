"""The one accounting rule: a position is a queue of lots, closed first in, first out (FIFO).

A fill opposite to the position closes the oldest lots first; each closed slice realizes
``(fill price - lot price) * quantity closed`` (negated for a short lot). What is left of the
fill after the position reaches zero opens a new lot on the other side (a flip). Realized PnL is
gross: fees are kept apart and never enter lot prices. The engine's book (and through it the
synthetic test log), the read models and the log-derived state all fold fills with this class,
so they agree exactly.
docs/accounting.md says why FIFO and not average cost.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class Lot:
    """An open slice of a position: signed quantity at its entry price; ``opened`` names it."""

    quantity: Decimal
    price: Decimal
    opened: int = 0


@dataclass(slots=True)
class LotQueue:
    """A position's open lots, oldest first, with their signed quantity and cost kept in step.

    ``cost`` is ``Σ lot.quantity * lot.price``, updated per lot (never re-summed), so every
    operation costs O(lots it closes + 1). ``lots`` may hold only the oldest part of the queue
    (a read model loads no more lots than a batch can close) as long as ``quantity`` and
    ``cost`` describe the whole position and no close reaches past the lots held.
    """

    lots: deque[Lot] = field(default_factory=deque)
    quantity: Decimal = ZERO
    cost: Decimal = ZERO

    def closing(self, signed: Decimal) -> Decimal:
        """How much of a fill of ``signed`` quantity closes open lots (0 if it adds to them)."""
        held = self.quantity
        if held * signed >= 0:
            return ZERO
        return min(abs(signed), abs(held))

    def close(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Close ``quantity`` (> 0, at most the position) of the oldest lots; the realized PnL."""
        realized = ZERO
        cost = ZERO
        left = quantity
        lots = self.lots
        while left:
            lot = lots[0]
            size = abs(lot.quantity)
            take = min(size, left)
            direction = 1 if lot.quantity > 0 else -1
            realized += (price - lot.price) * direction * take
            cost += lot.price * direction * take
            if take == size:
                lots.popleft()
            else:
                lot.quantity -= direction * take
            left -= take
        self.quantity -= quantity if self.quantity > 0 else -quantity
        self.cost -= cost
        return realized

    def add(self, signed: Decimal, price: Decimal, opened: int = 0) -> None:
        """Add a new lot of ``signed`` quantity (same side as the position, or from flat)."""
        self.lots.append(Lot(signed, price, opened))
        self.quantity += signed
        self.cost += signed * price

    def fill(self, signed: Decimal, price: Decimal, opened: int = 0) -> Decimal:
        """Book a fill of ``signed`` quantity (BUY +, SELL -) at ``price``; the realized PnL."""
        closing = self.closing(signed)
        realized = self.close(closing, price) if closing else ZERO
        rest = abs(signed) - closing
        if rest:
            self.add(rest if signed > 0 else -rest, price, opened)
        return realized
