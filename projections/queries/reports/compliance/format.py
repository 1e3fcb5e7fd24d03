"""How the compliance sections write numbers and times: one place, so every table and figure
shows the same digits (the replay in ``replay.py`` writes its own, on purpose).

Quotients are computed exactly (``Fraction``) and rounded once, half to even, so a figure does
not depend on the order its terms were added in or on the decimal context's precision.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

NOT_AVAILABLE = "n/a"
DAY_US = 86_400_000_000
RATIO_PLACES = 4
BPS_PLACES = 2
PRICE_PLACES = 8
SECONDS_PLACES = 6
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Exact = Decimal | int | Fraction


def when(micros: int | None) -> str:
    """ISO-8601 UTC with microseconds (RTS 25 granularity); "" when the log holds no time."""
    if micros is None:
        return ""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day(micros: int) -> str:
    """The UTC calendar day of an event time: a report day is [00:00, 24:00) UTC."""
    return (_EPOCH + timedelta(microseconds=micros // DAY_US * DAY_US)).strftime("%Y-%m-%d")


def number(value: Decimal | int | None) -> str:
    """An exact amount written by its value alone (``1.50`` and ``1.5000`` both ``1.5``), so
    two computations of one amount cannot differ by trailing zeros."""
    if value is None:
        return NOT_AVAILABLE
    return format(Decimal(value).normalize(), "f") if value else "0"  # never "-0"


def rounded(numerator: Exact, denominator: Exact, places: int) -> str:
    """``numerator / denominator`` exactly, rounded half to even to ``places`` decimals;
    "n/a" when the denominator is zero."""
    if not denominator:
        return NOT_AVAILABLE
    scaled = round(Fraction(numerator) / Fraction(denominator) * 10**places)
    return format(Decimal(scaled).scaleb(-places), "f")


def ratio(numerator: Exact, denominator: Exact) -> str:
    return rounded(numerator, denominator, RATIO_PLACES)


def bps(cost: Exact, base: Exact) -> str:
    """``cost / base`` in basis points (cost positive = worse for the order)."""
    return rounded(Fraction(cost) * 10_000, base, BPS_PLACES)


def price(numerator: Exact, denominator: Exact) -> str:
    return rounded(numerator, denominator, PRICE_PLACES)


def seconds(total_us: int, count: int) -> str:
    """The mean of ``count`` durations summing to ``total_us``, in seconds to the microsecond."""
    return rounded(total_us, count * 1_000_000, SECONDS_PLACES)
