"""Quotients and sums of quotients rounded once, exactly, at the speed of decimals.

Every order's interval VWAP is a quotient (Σ typical price x volume / 3 Σ volume), so the
roll-ups' slippage against it adds tens of thousands of fractions with different denominators;
as ``Fraction``s that took seconds for a month of trading. Here each quotient is bracketed
between its 120-digit values rounded down and up, brackets are added rounding down and up, and
the result is rounded from both ends of the bracket: when both give the same digits, so does
the exact value (rounding is monotonic). Only a value within about 1e-100 of a tie leaves them
apart; then the terms are added as fractions. Results are those of the exact ``Fraction``
arithmetic (half to even, and no sign on a zero), so the replay can keep its fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

NOT_AVAILABLE = "n/a"
_DOWN = Context(prec=120, rounding=ROUND_FLOOR)
_UP = Context(prec=120, rounding=ROUND_CEILING)
_EVEN = Context(prec=120, rounding=ROUND_HALF_EVEN)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Quotient:
    """``numerator / denominator`` (denominator positive) with ``low <= value <= high``."""

    numerator: Decimal
    denominator: Decimal
    low: Decimal
    high: Decimal

    def exact(self) -> Fraction:
        return Fraction(self.numerator) / Fraction(self.denominator)


def quotient(numerator: Decimal, denominator: Decimal) -> Quotient:
    """``numerator / denominator`` bracketed (``denominator`` must be positive)."""
    return Quotient(
        numerator,
        denominator,
        _DOWN.divide(numerator, denominator),
        _UP.divide(numerator, denominator),
    )


def _text(value: Decimal, places: int) -> str:
    rounded = _EVEN.quantize(value, Decimal(1).scaleb(-places))
    return format(rounded.copy_abs() if rounded.is_zero() else rounded, "f")


def _exact_text(value: Fraction, places: int) -> str:
    return format(_EVEN.scaleb(Decimal(round(value * 10**places)), -places), "f")


def rounded_quotient(numerator: Decimal, denominator: Decimal, places: int) -> str:
    """``numerator / denominator`` rounded half to even to ``places``; "n/a" for a zero
    denominator."""
    if not denominator:
        return NOT_AVAILABLE
    if denominator < 0:
        numerator, denominator = numerator.copy_negate(), denominator.copy_negate()
    low = _text(_DOWN.divide(numerator, denominator), places)
    if low == _text(_UP.divide(numerator, denominator), places):
        return low
    return _exact_text(Fraction(numerator) / Fraction(denominator), places)


@dataclass(slots=True)
class BracketedSum:
    """A sum of quotients as a bracket (added rounding down and up) and its terms (for the
    rare exact fallback). Sums of parts ``merge`` into the sum of the whole: the bracket stays
    one (each bound is still a bound), and what is read off it is exact either way."""

    low: Decimal = _ZERO
    high: Decimal = _ZERO
    terms: list[Quotient] = field(default_factory=list)

    def add(self, term: Quotient) -> None:
        self.low = _DOWN.add(self.low, term.low)
        self.high = _UP.add(self.high, term.high)
        self.terms.append(term)

    def merge(self, other: BracketedSum) -> None:
        self.low = _DOWN.add(self.low, other.low)
        self.high = _UP.add(self.high, other.high)
        self.terms.extend(other.terms)

    def exact(self) -> Fraction:
        return sum((term.exact() for term in self.terms), Fraction(0))


def rounded_ratio_of_sums(
    top: BracketedSum, bottom: BracketedSum, places: int, *, scale: int = 0
) -> str:
    """``10**scale x top / bottom`` rounded half to even to ``places``; "n/a" when ``bottom``
    is zero. The terms of ``bottom`` must not be negative."""
    if bottom.low > 0:
        top_low, top_high = _DOWN.scaleb(top.low, scale), _UP.scaleb(top.high, scale)
        low = _DOWN.divide(top_low, bottom.high if top_low >= 0 else bottom.low)
        high = _UP.divide(top_high, bottom.low if top_high >= 0 else bottom.high)
        shown = _text(low, places)
        if shown == _text(high, places):
            return shown
    exact_bottom = bottom.exact()
    if not exact_bottom:
        return NOT_AVAILABLE
    return _exact_text(top.exact() * 10**scale / exact_bottom, places)
