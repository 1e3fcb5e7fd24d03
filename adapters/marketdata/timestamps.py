"""Turn a timestamp column (ISO 8601 text, epoch s/ms/µs/ns, or Arrow timestamps) into UTC µs.

The epoch unit is detected from the magnitude of the values (seconds ~1e9, milliseconds ~1e12,
microseconds ~1e15, nanoseconds ~1e18 for present-day dates) and named in the data report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.marketdata.arrays import numpy_of
from adapters.marketdata.errors import MarketDataError
from adapters.marketdata.numbers import trimmed

# Upper bounds (exclusive) of |value| per epoch unit, with the factor to microseconds.
_EPOCH_UNITS: tuple[tuple[float, str, Fraction], ...] = (
    (1e11, "seconds", Fraction(1_000_000)),
    (1e14, "milliseconds", Fraction(1_000)),
    (1e17, "microseconds", Fraction(1)),
    (float("inf"), "nanoseconds", Fraction(1, 1_000)),
)
_INTEGER = r"^[+-]?\d{1,19}$"  # int64 has up to 19 digits
EARLIEST_US = -2_208_988_800_000_000  # 1900-01-01
LATEST_US = 7_258_118_400_000_000  # 2200-01-01
_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)$"


@dataclass(frozen=True, slots=True)
class Timestamps:
    """UTC microseconds per row and a human description of how they were read."""

    micros: np.ndarray
    description: str


def parse_timestamps(column: pa.ChunkedArray, where: str) -> Timestamps:
    """Parse ``column``; ``where`` (the file name) prefixes every error."""
    parsed = _parse(column, where)
    outside = np.flatnonzero((parsed.micros < EARLIEST_US) | (parsed.micros >= LATEST_US))
    if len(outside):
        row = int(outside[0])
        raise MarketDataError(
            f"{where}: row {row + 1}: timestamp {column[row].as_py()} is outside 1900-2200 "
            f"(read as {parsed.description})"
        )
    return parsed


def _parse(column: pa.ChunkedArray, where: str) -> Timestamps:
    if column.null_count:
        raise MarketDataError(f"{where}: row {_first_true(column.is_null())}: empty timestamp")
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _arrow_timestamps(column)
    if pa.types.is_integer(kind):
        return _epoch(numpy_of(pc.cast(column, pa.int64())), where)
    if pa.types.is_floating(kind):
        return _epoch(numpy_of(pc.cast(column, pa.float64())), where)
    if not pa.types.is_string(kind) and not pa.types.is_large_string(kind):
        raise MarketDataError(f"{where}: timestamp column has unsupported type {kind}")
    text = trimmed(column)
    if not len(text) or not pc.match_substring_regex(text.slice(0, 1), _DECIMAL)[0].as_py():
        return _iso(text, where)
    numeric = pc.match_substring_regex(text, _DECIMAL)
    if not pc.all(numeric).as_py():
        row = _first_true(pc.invert(numeric))
        raise MarketDataError(
            f"{where}: row {row}: timestamp {text[row - 1].as_py()!r} is not an epoch number "
            "like the rows before it"
        )
    if pc.all(pc.match_substring_regex(text, _INTEGER)).as_py():
        with contextlib.suppress(pa.ArrowInvalid):  # beyond int64: read as floats below
            return _epoch(numpy_of(pc.cast(text, pa.int64())), where, text)
    return _epoch(numpy_of(pc.cast(text, pa.float64())), where, text)


def _arrow_timestamps(column: pa.ChunkedArray) -> Timestamps:
    zone = getattr(column.type, "tz", None)
    as_us = pc.cast(column, pa.timestamp("us", tz=zone))
    micros = numpy_of(pc.cast(as_us, pa.int64()))
    how = f"Arrow timestamps ({zone})" if zone else "Arrow timestamps without zone, read as UTC"
    return Timestamps(micros, how)


def _epoch(values: np.ndarray, where: str, text: pa.ChunkedArray | None = None) -> Timestamps:
    """Pick one unit for the file from the median magnitude; refuse rows of another unit.

    Integers are scaled with integer arithmetic (nanoseconds do not fit a float exactly).
    """
    magnitude = np.abs(values.astype(np.float64))
    bounds = np.array([bound for bound, _, _ in _EPOCH_UNITS])
    unit_of_row = np.searchsorted(bounds, magnitude, side="right")
    unit = int(np.searchsorted(bounds, float(np.median(magnitude)), side="right"))
    _, name, factor = _EPOCH_UNITS[unit]
    odd = np.flatnonzero(unit_of_row != unit)
    if len(odd):
        row = int(odd[0])
        shown = text[row].as_py() if text is not None else values[row]
        other = _EPOCH_UNITS[int(unit_of_row[row])][1]
        raise MarketDataError(
            f"{where}: row {row + 1}: epoch timestamp {shown} looks like {other} but the file's "
            f"timestamps are epoch {name} (detected by magnitude); mixed units are not supported"
        )
    if values.dtype.kind == "i":
        micros = values * factor.numerator // factor.denominator
    else:
        micros = np.rint(np.clip(values * float(factor), -(2.0**62), 2.0**62)).astype(np.int64)
    return Timestamps(micros, f"epoch {name} (detected by magnitude)")


def _iso(text: pa.ChunkedArray, where: str) -> Timestamps:
    """ISO 8601: with a zone offset (``Z``, ``+08:00``) or without one (read as UTC)."""
    zoned = pa.timestamp("us", tz="UTC")
    naive = pa.timestamp("us")
    first = text.slice(0, 1)
    target, how = zoned, "ISO 8601 with zone offsets, converted to UTC"
    if not _casts(first, zoned):
        target, how = naive, "ISO 8601 without zone, read as UTC"
    try:
        parsed = pc.cast(text, target)
    except pa.ArrowInvalid:
        row = _first_failure(text, lambda part: _casts(part, target))
        raise MarketDataError(
            f"{where}: row {row + 1}: timestamp {text[row].as_py()!r} is neither ISO 8601 "
            "(like 2024-01-01T00:00:00Z, all rows with or all without a zone) nor an epoch number"
        ) from None
    return Timestamps(numpy_of(pc.cast(parsed, pa.int64())), how)


def _casts(part: pa.Array, target: pa.DataType) -> bool:
    try:
        pc.cast(part, target)
    except pa.ArrowInvalid:
        return False
    return True


def _first_failure(values: pa.Array, ok: Callable[[pa.Array], bool]) -> int:
    """Index of the first element for which ``ok`` fails, by bisection (ok on a slice = all ok)."""
    low, high = 0, len(values)
    while high - low > 1:
        middle = (low + high) // 2
        if ok(values.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low


def _first_true(mask: pa.Array) -> int:
    return int(np.flatnonzero(numpy_of(mask))[0]) + 1
