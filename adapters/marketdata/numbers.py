"""Price and volume columns: floats for vectorized checks, exact Decimals built from the text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.marketdata.arrays import numpy_of
from domain.values import SCALE

Places = int | np.ndarray
"""Decimal places: one for a whole column, or one per row (int8)."""

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$"
# Texts that ``str(Decimal(text))`` gives back unchanged: plain notation without "+", leading
# zeros or a bare "." (``.5``, ``1.``), not below 1e-6 in size nor a zero with over six places,
# where ``str`` switches to exponent form (``0.0000001`` -> ``1E-7``, ``0.0000000`` ->
# ``0E-7``). Checked against ``str`` in tests/marketdata/test_digest.py.
CANONICAL = r"^-?([1-9][0-9]*(\.[0-9]+)?|0(\.(0{0,5}[1-9][0-9]*|0{1,6}))?)$"


# More than ``SCALE`` digits after the point in plain notation; exponent forms are decided by
# their Decimal (``1.5e-17`` has 18 decimal places).
_TOO_FINE = rf"^[+-]?[0-9]*\.[0-9]{{{SCALE + 1},}}$"
_EXPONENT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+$"


@dataclass(frozen=True, slots=True)
class NumericColumn:
    """``values`` has NaN where ``text`` is not a number; ``unparsable`` marks those rows;
    ``too_fine`` marks numbers with more decimal places than the read models keep;
    ``places`` is each text's number of decimal places when every text is a number in plain
    notation (no exponent), else ``None``. ``scaled`` is set for a decimal, integer or float
    column (Parquet): its exact integers and decimal places (one, or one per row), read
    without any text; its ``text`` is then the column as read, whose cast to text is ``str``
    of each value's ``Decimal`` (unless ``exponent_form``)."""

    text: pa.ChunkedArray
    values: np.ndarray
    unparsable: np.ndarray
    too_fine: np.ndarray
    places: np.ndarray | None
    scaled: tuple[np.ndarray, Places] | None = None

    def texts(self) -> pa.ChunkedArray:
        """The column as ``pa.string()`` (cast from a decimal, integer or float column)."""
        return self.text if pa.types.is_string(self.text.type) else pc.cast(self.text, pa.string())

    def text_at(self, index: int) -> str:
        """Row ``index``'s text, for messages: as ``texts`` has it, without casting the rest."""
        text = self.text.slice(index, 1)
        return str((text if pa.types.is_string(text.type) else pc.cast(text, pa.string()))[0])


def numeric_column(column: pa.ChunkedArray) -> NumericColumn:
    """Read any Arrow column as numbers: decimal and integer columns directly from their
    integers, any other via its text form (floats: the shortest repr).

    Every column's text is ``pa.string()`` (a Parquet file may hold ``large_string``), so the
    value columns can be encoded together."""
    exact = _exact_column(column)
    if exact is not None:
        return exact
    floats = _float_column(column)
    if floats is not None:
        return floats
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    text = trimmed(pc.fill_null(text, "") if text.null_count else text)
    try:
        values = numpy_of(pc.cast(text, pa.float64()))
    except pa.ArrowInvalid:
        pass
    else:
        parsed = np.zeros(len(text), dtype=bool)
        places = _plain_places(text)
        if places is not None:
            return NumericColumn(text, values, parsed, places > SCALE, places)
        return NumericColumn(text, values, parsed, _too_fine(text), None)
    ok = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    cleaned = pc.if_else(ok, text, "nan")
    values = numpy_of(pc.cast(cleaned, pa.float64()))
    return NumericColumn(text, values, ~numpy_of(ok), _too_fine(text), None)


def _exact_column(column: pa.ChunkedArray) -> NumericColumn | None:
    """An integer or ``decimal128`` column without nulls, of at most ``SCALE`` places and below
    2**53 in its integers: the integers as they are stored, and floats from them as exact as
    from the text (an integer below 2**53 is a float exactly, and one division rounds once).
    ``None`` for any other column, which goes through its text."""
    kind = column.type
    if column.null_count:
        return None
    if pa.types.is_integer(kind):
        try:
            integers = numpy_of(pc.cast(column, pa.int64()))
        except pa.ArrowInvalid:  # uint64 beyond int64
            return None
        places = 0
    elif pa.types.is_decimal128(kind) and 0 <= kind.scale <= SCALE:
        parts = [_words(chunk) for chunk in column.chunks]
        words = parts[0] if len(parts) == 1 else np.concatenate(parts)
        low, high = words[:, 0], words[:, 1]
        if not _within_low_word(low, high):  # beyond int64
            return None
        integers, places = np.ascontiguousarray(low), kind.scale
    else:
        return None
    if len(integers) and (int(integers.max()) >= 2**53 or int(integers.min()) <= -(2**53)):
        return None
    nothing = np.zeros(len(integers), dtype=bool)
    values = integers / 10.0**places
    return NumericColumn(column, values, nothing, nothing, None, (integers, places))


def _within_low_word(low: np.ndarray, high: np.ndarray) -> bool:
    """Whether each 128-bit value is its low word's int64: the high word is the low word's
    sign. Two reductions when every value is non-negative (prices), else the full check."""
    if not len(low):
        return True
    if int(high.min()) == 0 == int(high.max()) and int(low.min()) >= 0:
        return True
    return bool(np.array_equal(high, low >> 63))


def _float_column(column: pa.ChunkedArray) -> NumericColumn | None:
    """A ``float64`` column without nulls whose every value is finite, not negative (nor
    ``-0.0``) and has a shortest text in plain notation with at most ``SCALE`` places and
    below 10**15 as an integer of those places: its integers and places as ``fixed_point``
    finds them from those texts, without writing any text. ``None`` for any other column,
    which goes through its text (Arrow's shortest one, which defines the float's Decimal).

    Such a float's shortest text has the fewest decimal places ``p`` with which some decimal
    of ``p`` places rounds to it; below 10**15 at ``p`` places, exactly one does, the
    integer ``rint(x * 10**p)``. Arrow writes it in plain notation when its leading digit's
    exponent is -6 to 9 (``0.000001``, ``9999999999``; ``1e-7``, ``1e+10``)."""
    if not pa.types.is_float64(column.type) or column.null_count:
        return None
    values = numpy_of(column)
    if not len(values) or not bool(np.all(np.isfinite(values))) or bool(np.any(np.signbit(values))):
        return None
    fitted = _least_places(values)
    if fitted is None:
        return None
    integers, places = fitted
    nothing = np.zeros(len(values), dtype=bool)
    return NumericColumn(column, values, nothing, nothing, None, (integers, places))


_TENS = 10 ** np.arange(SCALE + 1, dtype=np.int64)
_FACTORS = 10.0 ** np.arange(SCALE + 1)
_PLAIN_BELOW = np.array([min(10 ** (p + 10), 2**63 - 1) for p in range(SCALE + 1)], np.int64)


def _least_places(values: np.ndarray) -> tuple[np.ndarray, Places] | None:
    """Each finite non-negative float's fewest decimal places and its integer at those (see
    ``_float_column``), or ``None`` where one needs more than ``SCALE`` places or 10**15,
    or its shortest text is in exponent form. Most rows have the places most of the first
    few have: those are tried on every row at once, the others row by row."""
    sample = _fewest_places_each(values[:256])
    if sample is None:
        return None
    guess = int(np.bincount(sample[1]).argmax())
    factor = float(_FACTORS[guess])
    scaled = np.rint(values * factor)
    fits = scaled / factor == values
    if float(scaled.max()) >= 1e15:
        fits &= scaled < 1e15
    with np.errstate(invalid="ignore"):  # rows that do not fit: found below
        integers = scaled.astype(np.int64)
    row_places = np.full(len(values), guess, dtype=np.int8)
    if guess:  # a fitting row with trailing zeros has fewer places: 42000.0 is "42000"
        rows = np.flatnonzero(fits & (integers // 10 * 10 == integers))
        if len(rows):
            some = integers[rows]
            fewer = np.zeros(len(rows), dtype=np.int8)
            for power in range(1, guess + 1):
                fewer += (some // _TENS[power] * _TENS[power] == some).astype(np.int8)
            row_places[rows] -= fewer
            integers[rows] = some // _TENS.take(fewer)
    others = np.flatnonzero(~fits)
    if len(others):
        each = _fewest_places_each(values[others])
        if each is None:
            return None
        integers[others], row_places[others] = each
    fewest, most = int(row_places.min()), int(row_places.max())
    if int(integers.max()) >= int(_PLAIN_BELOW[fewest]) and bool(
        np.any(integers >= _PLAIN_BELOW.take(row_places))
    ):
        return None  # 1e10 or more: "1e+10"
    if most > 6:
        tiny = (row_places > 6) & (integers != 0)
        if bool(np.any(tiny & (integers < _TENS.take(np.maximum(row_places, 6) - 6)))):
            return None  # below 1e-6: "1e-7"
    if fewest == most:
        return integers, most
    return integers, row_places


def _fewest_places_each(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each value's fewest places and its integer at those, one row at a time in effect."""
    integers = np.zeros(len(values), dtype=np.int64)
    row_places = np.zeros(len(values), dtype=np.int8)
    left = np.arange(len(values))
    for places in range(SCALE + 1):
        factor = float(_FACTORS[places])
        scaled = np.rint(values[left] * factor)
        if bool(np.any(scaled >= 1e15)):
            return None  # more places make it larger still
        fits = scaled / factor == values[left]
        integers[left[fits]] = scaled[fits].astype(np.int64)
        row_places[left[fits]] = places
        left = left[~fits]
        if not len(left):
            return integers, row_places
    return None


def _words(chunk: pa.Array) -> np.ndarray:
    """A ``decimal128`` array's values as rows of (low, high) 64-bit words (little-endian)."""
    data = chunk.buffers()[1]
    if not len(chunk):
        return np.empty((0, 2), dtype=np.int64)
    words = np.frombuffer(data, dtype=np.int64, count=2 * len(chunk), offset=chunk.offset * 16)
    return words.reshape(-1, 2)


def trimmed(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """``text`` without leading or trailing whitespace; copied only when a text starts or ends
    with a whitespace byte or a non-ASCII one (Unicode spaces), which bar files rarely have.
    A ``large_string`` column (64-bit offsets) is always trimmed by Arrow."""
    if not pa.types.is_string(text.type) or any(map(_untrimmed, text.chunks)):
        return pc.utf8_trim_whitespace(text)
    return text


def _has_exponent_letter(chunk: pa.Array) -> bool:
    _, offsets, data = chunk.buffers()
    if data is None or len(chunk) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
    raw = np.frombuffer(data, dtype=np.uint8)[int(bounds[0]) : int(bounds[-1])]
    return bool(np.any((raw | 0x20) == ord("e")))  # "e" or "E"


def _untrimmed(chunk: pa.Array) -> bool:
    _, offsets, data = chunk.buffers()
    if data is None or len(chunk) == 0:
        return False
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
    starts, ends = bounds[:-1], bounds[1:]
    filled = starts < ends
    raw = np.frombuffer(data, dtype=np.uint8)
    edges = np.concatenate([raw[starts[filled]], raw[ends[filled] - 1]])
    return bool(np.any((edges <= 32) | (edges >= 128)))


def _plain_places(text: pa.ChunkedArray) -> np.ndarray | None:
    """Decimal places of each text of a column whose every text parsed as a float, unless one
    is in exponent form: such a text is ``[+-]digits[.digits]`` (or ``nan``/``inf``, without a
    point), so its places are what follows the point; the same as ``_TOO_FINE`` decides, with
    a scan of the text bytes for an exponent letter instead of two regexes."""
    if any(map(_has_exponent_letter, text.chunks)):
        return None
    point = numpy_of(pc.find_substring(text, "."))
    length = numpy_of(pc.binary_length(text))
    places: np.ndarray = np.where(point >= 0, length - point - 1, 0)
    return places


def _too_fine(text: pa.ChunkedArray) -> np.ndarray:
    """Rows whose number has more than ``SCALE`` decimal places: a regex over the column, and a
    ``Decimal`` only for each distinct text in exponent form (rare in bar files)."""
    fine: np.ndarray = numpy_of(pc.match_substring_regex(text, _TOO_FINE))
    exponent = pc.match_substring_regex(text, _EXPONENT)
    if not pc.any(exponent).as_py():
        return fine
    written = pc.filter(text, exponent)
    wrong = [value for value in pc.unique(written).to_pylist() if too_fine(Decimal(value))]
    if wrong:
        listed: np.ndarray = numpy_of(pc.is_in(text, pa.array(wrong, text.type)))
        fine = fine | listed
    return fine


def too_fine(value: Decimal) -> bool:
    """More decimal places than the read models keep (``domain.values.SCALE``)."""
    exponent = value.as_tuple().exponent
    return type(exponent) is int and exponent < -SCALE


def fixed_point(column: NumericColumn, rows: np.ndarray | None) -> tuple[np.ndarray, Places] | None:
    """The column's numbers (at ``rows``, or all) as integers scaled by ``10**places``, when
    that is exact and gives back each text's own ``Decimal``: every text plain notation (no
    exponent) with at most ``SCALE`` decimal places, not negative (``-0.0`` would lose its
    sign), and every scaled value below 10**15, where ``rint(float * 10**places)`` is exactly
    the text's integer (the float is within 2**-53 of it, relative). ``None`` otherwise.
    ``places`` is one number when every text has the same, else one per row (a float
    column's shortest texts: ``42000``, ``41996.46``). A decimal or integer column has its
    integers already (``scaled``)."""
    if column.scaled is not None:
        integers, scale = column.scaled
        chosen = integers if rows is None else integers[rows]
        if len(chosen) and int(chosen.min()) < 0:
            return None
        if isinstance(scale, int):
            return chosen, scale
        return chosen, _one_if_same(scale if rows is None else scale[rows])
    if column.places is None:
        return None
    values = column.values if rows is None else column.values[rows]
    decimals = column.places if rows is None else column.places[rows]
    if not (int(decimals.min()) >= 0 and int(decimals.max()) <= SCALE):
        return None
    places = _one_if_same(decimals)
    if not bool(np.all(np.isfinite(values))) or bool(np.any(np.signbit(values))):
        return None
    factor = _FACTORS.take(places) if isinstance(places, np.ndarray) else 10.0**places
    scaled = np.rint(values * factor)
    if bool(np.any(scaled >= 1e15)):
        return None
    integers = scaled.astype(np.int64)
    if not bool(np.array_equal(integers / factor, values)):
        return None
    return integers, places


def _one_if_same(decimals: np.ndarray) -> Places:
    """Per-row places as one number when every row has the same, else as int8."""
    first = int(decimals[0])
    if int(decimals.min()) == first == int(decimals.max()):
        return first
    return decimals.astype(np.int8)


def exponent_form(integers: np.ndarray, places: Places) -> bool:
    """Whether ``str`` writes one of these non-negative fixed-point numbers in exponent form:
    below 1e-6 in size, or a zero with over six places (``1E-7``, ``0E-7``)."""
    if isinstance(places, int):
        return places > 6 and (
            bool(np.any(integers == 0)) or int(integers.min()) < 10 ** (places - 6)
        )
    fine = places > 6
    if not bool(fine.any()):
        return False
    smallest = 10 ** np.maximum(places.astype(np.int64) - 6, 0)
    return bool(np.any(fine & ((integers == 0) | (integers < smallest))))


def written_as_str(text: pa.ChunkedArray, integers: np.ndarray, places: Places) -> bool:
    """Whether each text of a ``fixed_point`` column is already what ``str`` writes for its
    ``Decimal``: then the texts themselves go into the digest. Such a text is
    ``[+]digits[.digits]`` with ``places`` digits after the point; ``str`` writes the same
    digits after the point and the integer part without leading zeros (``0`` if none), so
    the two are the same unless the text starts with ``+``, ``.`` or a ``0`` not followed by
    the point (``007.5``), or ends with the point (``1.``). False too where ``str`` uses
    exponent form (below 1e-6 in size, a zero with over six places)."""
    if exponent_form(integers, places):
        return False
    return all(map(_written_plainly, text.chunks))


def _written_plainly(chunk: pa.Array) -> bool:
    """No text of this ``pa.string()`` chunk of plain decimals starts with ``+``, ``.`` or a
    leading zero, or ends with ``.``: byte checks at each text's two ends."""
    _, offsets, data = chunk.buffers()
    if data is None or len(chunk) == 0:
        return True
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
    starts, ends = bounds[:-1], bounds[1:]
    raw = np.frombuffer(data, dtype=np.uint8)
    first, last = raw[starts], raw[ends - 1]
    if bool(np.any((first == ord("+")) | (first == ord(".")) | (last == ord(".")))):
        return False
    zero = np.flatnonzero(first == ord("0"))
    if not len(zero):
        return True
    single = ends[zero] - starts[zero] == 1
    return bool(np.all(single | (raw[np.minimum(starts[zero] + 1, len(raw) - 1)] == ord("."))))


def canonical_texts(texts: list[pa.ChunkedArray]) -> list[pa.ChunkedArray]:
    """Validated number columns as ``str`` of their Decimals writes them, without Python work
    per value: a text matching ``CANONICAL`` is its own ``str``; only the others (rare) are
    converted, each distinct one once."""
    written: list[pa.ChunkedArray] = []
    for text in texts:
        plain = pc.match_substring_regex(text, CANONICAL)
        if pc.all(plain).as_py():
            written.append(text)
            continue
        other = pc.invert(plain)
        odd = pc.unique(pc.filter(text, other))
        converted = pa.array([str(Decimal(value)) for value in odd.to_pylist()], text.type)
        position = pc.index_in(text, value_set=odd)
        written.append(pc.if_else(other, pc.take(converted, position), text))
    return written
