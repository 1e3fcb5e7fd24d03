"""How report values become strings, once, so every format and the replay agree to the digit.

Exact amounts print as plain decimals without exponent or trailing zeros (``100`` whether the
log says ``100`` or the read model ``100.00000000``); ratios are rounded half-even to
``RATIO_PLACES``; instants are ISO-8601 UTC with microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from domain.events.envelope import from_microseconds

ZERO = Decimal(0)
RATIO_PLACES = Decimal("0.000001")


def amount(value: Decimal) -> str:
    """An exact decimal as a plain string (``0`` never ``-0`` or ``0E-8``)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def ratio(numerator: Decimal, denominator: Decimal) -> str:
    """``numerator / denominator`` rounded to 6 places; empty when the denominator is 0."""
    if denominator == 0:
        return ""
    return amount((numerator / denominator).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN))


def instant(micros: int) -> str:
    return from_microseconds(micros).astimezone(UTC).isoformat(timespec="microseconds")


def moment(value: datetime | None) -> str:
    """A read-model time (naive UTC or aware) as ``instant`` prints it; empty for none."""
    if value is None:
        return ""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    """Each point's fall below the running peak, as a fraction of that peak (0 at a peak)."""
    peak = ZERO
    found = []
    for value in equity:
        peak = max(peak, value)
        found.append((peak - value) / peak if peak > 0 else ZERO)
    return found


def thinned(count: int, most: int) -> list[int]:
    """At most ``most`` indices of ``count`` points, evenly spaced, first and last included:
    charts stay light on a month of minutes while tables keep every row."""
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})
