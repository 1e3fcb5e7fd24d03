"""Bounds on every price, quantity and amount of money that may enter the log.

An event is forever, so nothing may be recorded that a read model cannot hold. Every read model
keeps decimals as ``DECIMAL(38, 18)`` (SQL) / ``Decimal(38, 18)`` (ClickHouse): below 10^20 in
size with at most 18 decimal places; the object store keeps the recorded text. The bounds below
are tighter so that what the engine derives from bounded inputs fits as well:

* price below 10^10 and quantity below 10^9, so a notional (price x quantity) stays below 10^19
  and a fee (at most 10 % of notional) below 10^18;
* money (cash, notional and loss limits) below 10^15, so equity = cash + position values stays
  below 10^20 with room for nine positions of the largest size;
* bar volume below 10^15 (it caps fills, it is never multiplied by a price).

Every bound on an input also asks for a finite value with at most ``SCALE`` decimal places (in
the text as written: ``1.5000000000000000000`` has 19), so that it reads back unchanged from
every read model, and at most ``PRECISION`` significant digits, so that the domain's decimal
arithmetic takes it as it is. docs/values.md explains the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

SCALE = 18
"""Decimal places every read model keeps."""
PRECISION = 28
"""Significant digits of Python's default decimal context, in which the domain computes: an
input with more would be rounded by its first negation or sum."""


class ValueBoundError(ValueError):
    """A value outside the bound of what it is; the message names the bound."""


@dataclass(frozen=True, slots=True)
class Bound:
    """Values of one kind must be finite, smaller than ``10**digits`` in size and (unless
    ``exact_places`` is false) have at most ``SCALE`` decimal places."""

    what: str  # with its article, as the message starts: "a price"
    digits: int
    exact_places: bool = True

    @property
    def limit(self) -> Decimal:
        return Decimal(1).scaleb(self.digits)

    def describe(self) -> str:
        places = (
            f" and have at most {SCALE} decimal places and {PRECISION} significant digits"
            if self.exact_places
            else ""
        )
        return f"{self.what} must be finite and below 10^{self.digits} in size{places}"

    def problem(self, value: Decimal) -> str:
        """Why ``value`` is out of bounds, or "" when it is within them."""
        limit = self.limit
        if within(value, limit) or (
            not self.exact_places and value.is_finite() and -limit < value < limit
        ):
            return ""
        return f"{value} is out of bounds: {self.describe()}"

    def check(self, value: Decimal) -> Decimal:
        """``value`` itself, or ``ValueBoundError`` naming the bound."""
        problem = self.problem(value)
        if problem:
            raise ValueBoundError(problem)
        return value


def within(value: Decimal, limit: Decimal) -> bool:
    """Finite, ``|value| < limit``, at most ``SCALE`` decimal places and ``PRECISION``
    significant digits: O(1), for hot paths."""
    _sign, digits, exponent = value.as_tuple()  # exponent "n", "N" or "F" when not finite
    return (
        type(exponent) is int
        and exponent >= -SCALE
        and len(digits) <= PRECISION
        and -limit < value < limit
    )


PRICE = Bound("a price", 10)
QUANTITY = Bound("a quantity", 9)
MONEY = Bound("an amount of money", 15)
VOLUME = Bound("a bar volume", 15)
RATIO = Bound("a ratio", 6)
STORED = Bound("a recorded decimal", 20, exact_places=False)
"""What the read models hold at all: the last guard, on every event's decimal fields. Derived
values (average prices, PnL of partial closes) may have more places; read models round those
to ``SCALE``, the log keeps them exact."""

MAX_COMMISSION = Decimal("0.1")
"""No venue charges more than 10 % of notional; more is a typo (2 for 0.002)."""
MAX_SLIPPAGE_BPS = Decimal(10_000)
"""Slippage of 100 % would fill a sell at zero; the bound is exclusive."""

BoundedPrice = Annotated[Decimal, AfterValidator(PRICE.check)]
BoundedQuantity = Annotated[Decimal, AfterValidator(QUANTITY.check)]
BoundedMoney = Annotated[Decimal, AfterValidator(MONEY.check)]
BoundedRatio = Annotated[Decimal, AfterValidator(RATIO.check)]


def order_problem(quantity: object, limit_price: object = None, stop_price: object = None) -> str:
    """Why an order request's values are out of bounds, or "" (values that are not Decimals
    are left to the request's own validation)."""
    for name, value, bound in (
        ("quantity", quantity, QUANTITY),
        ("limit price", limit_price, PRICE),
        ("stop price", stop_price, PRICE),
    ):
        if isinstance(value, Decimal):
            problem = bound.problem(value)
            if problem:
                return f"{name} {problem}"
    return ""
