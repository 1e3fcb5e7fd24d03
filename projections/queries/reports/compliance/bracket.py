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

from collections.abc import Sequence
from dataclasses import dataclass
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


def rounded_ratio_of_sums(
    top: Sequence[Quotient], bottom: Sequence[Quotient], places: int, *, scale: int = 0
) -> str:
    """``10**scale x Σ top / Σ bottom`` rounded half to even to ``places``; "n/a" when
    ``Σ bottom`` is zero. The terms of ``bottom`` must not be negative."""
    top_low = top_high = bottom_low = bottom_high = _ZERO
    for term in top:
        top_low = _DOWN.add(top_low, term.low)
        top_high = _UP.add(top_high, term.high)
    for term in bottom:
        bottom_low = _DOWN.add(bottom_low, term.low)
        bottom_high = _UP.add(bottom_high, term.high)
    if bottom_low > 0:
        top_low, top_high = _DOWN.scaleb(top_low, scale), _UP.scaleb(top_high, scale)
        low = _DOWN.divide(top_low, bottom_high if top_low >= 0 else bottom_low)
        high = _UP.divide(top_high, bottom_low if top_high >= 0 else bottom_high)
        shown = _text(low, places)
        if shown == _text(high, places):
            return shown
    exact_bottom = sum((term.exact() for term in bottom), Fraction(0))
    if not exact_bottom:
        return NOT_AVAILABLE
    exact_top = sum((term.exact() for term in top), Fraction(0))
    return _exact_text(exact_top * 10**scale / exact_bottom, places)
