"""How the compliance sections write numbers and times: one place, so every table and figure
shows the same digits (the replay in ``replay.py`` writes its own, on purpose).

Quotients are computed exactly (``Fraction``) and rounded once, half to even, so a figure does
not depend on the order its terms were added in or on the decimal context's precision.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from functools import lru_cache

from projections.queries.reports.numbers import amount

NOT_AVAILABLE = "n/a"
DAY_US = 86_400_000_000
RATIO_PLACES = 4
BPS_PLACES = 2
PRICE_PLACES = 8
SECONDS_PLACES = 6
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXACT = Context(prec=120, rounding=ROUND_HALF_EVEN)
_STEPS = {places: Decimal(1).scaleb(-places) for places in range(13)}

Exact = Decimal | int | Fraction
_PLAIN = (Decimal, int)
"""Checked for instead of ``Fraction``: an ``isinstance`` against that abstract-based class
goes through ``ABCMeta``, which cost seconds over a month's order rows."""


def when(micros: int | None) -> str:
    """ISO-8601 UTC with microseconds (RTS 25 granularity); "" when the log holds no time.
    Written field by field: an audit trail formats a few hundred thousand of them."""
    if micros is None:
        return ""
    days, rest = divmod(micros, DAY_US)
    seconds_of_day, fraction = divmod(rest, 1_000_000)
    hours, rest = divmod(seconds_of_day, 3_600)
    minutes, second = divmod(rest, 60)
    return f"{_day(days)}T{hours:02d}:{minutes:02d}:{second:02d}.{fraction:06d}Z"


def day(micros: int) -> str:
    """The UTC calendar day of an event time: a report day is [00:00, 24:00) UTC."""
    return _day(micros // DAY_US)


@lru_cache(maxsize=4096)
def _day(index: int) -> str:
    return (_EPOCH + timedelta(days=index)).strftime("%Y-%m-%d")


def number(value: Decimal | int | None) -> str:
    """An exact amount written by its value alone (``1.50`` and ``1.5000`` both ``1.5``), so
    two computations of one amount cannot differ by trailing zeros: the reports' ``amount``,
    with "n/a" for an amount the log does not give."""
    if value is None:
        return NOT_AVAILABLE
    return amount(value if isinstance(value, Decimal) else Decimal(value))


def rounded(numerator: Exact, denominator: Exact, places: int) -> str:
    """``numerator / denominator`` rounded half to even to ``places`` decimals; "n/a" when the
    denominator is zero. Decimal operands are divided to 120 digits first, far closer than any
    tie a quotient of such numbers could sit near, so the result is that of the exact one."""
    if not denominator:
        return NOT_AVAILABLE
    if isinstance(numerator, _PLAIN) and isinstance(denominator, _PLAIN):
        quotient = _EXACT.divide(Decimal(numerator), Decimal(denominator))
        return format(quotient.quantize(_STEPS[places], context=_EXACT), "f")
    scaled = round(Fraction(numerator) / Fraction(denominator) * 10**places)
    return format(Decimal(scaled).scaleb(-places), "f")


def ratio(numerator: Exact, denominator: Exact) -> str:
    return rounded(numerator, denominator, RATIO_PLACES)


def bps(cost: Exact, base: Exact) -> str:
    """``cost / base`` in basis points (cost positive = worse for the order)."""
    scaled = _EXACT.multiply(cost, 10_000) if isinstance(cost, _PLAIN) else cost * 10_000
    return rounded(scaled, base, BPS_PLACES)


def price(numerator: Exact, denominator: Exact) -> str:
    return rounded(numerator, denominator, PRICE_PLACES)


def seconds(total_us: int, count: int) -> str:
    """The mean of ``count`` durations summing to ``total_us``, in seconds to the microsecond."""
    return rounded(total_us, count * 1_000_000, SECONDS_PLACES)
