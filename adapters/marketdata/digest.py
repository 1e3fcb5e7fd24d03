"""One symbol's ``bars_digest`` computed from Arrow columns at load time, without Python work
per bar: the same bytes as ``domain.market.bars_digest``, at a fraction of its cost."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.marketdata.arrays import arrow_of, repeated
from adapters.marketdata.numbers import exponent_form

CHUNK_ROWS = 1 << 16  # lines built per step: bounded memory, and 32-bit offsets never overflow
LINE_ROWS = 1 << 14  # rows of a line matrix: small enough to stay in the cache while written


def columns_digest(symbol: str, times_us: np.ndarray, values: Sequence[pa.ChunkedArray]) -> str:
    """Hex SHA-256 of the lines ``symbol,time_us,open,high,low,close,volume\\n``.

    ``values`` are the five value columns whose text is exactly what ``str`` writes for their
    Decimals (see ``numbers.canonical_texts``): text, or decimal or integer columns whose cast
    to text is that (``numbers.exponent_form`` says where it is not); ``times_us`` are the
    open times in µs.
    """
    times = arrow_of(times_us)
    rows = min(len(times), CHUNK_ROWS)
    name, empty, comma, newline = (repeated(text, rows) for text in (symbol, "", ",", "\n"))
    digest = hashlib.sha256()
    for start in range(0, len(times), CHUNK_ROWS):
        parts = [
            pc.cast(column.slice(start, CHUNK_ROWS), pa.string()) for column in (times, *values)
        ]
        count = len(parts[0])
        last = pc.binary_join_element_wise(parts[-1], empty[:count], newline[:count])
        lines = pc.binary_join_element_wise(name[:count], *parts[:-1], last, comma[:count])
        for chunk in lines.chunks:
            digest.update(_data(chunk))
    return digest.hexdigest()


def _data(lines: pa.Array) -> memoryview:
    """The text of all of ``lines`` (a ``pa.string()`` array), one after the other, uncopied."""
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(data)[int(bounds[0]) : int(bounds[-1])]


@functools.cache
def _digits(width: int) -> np.ndarray:
    """Every integer below ``10**width`` as ``width`` zero-padded ASCII digits, one unsigned
    integer of that many bytes each (little-endian): a column's digits are written four at a
    time by looking them up."""
    powers = 10 ** np.arange(width - 1, -1, -1)
    text = (np.arange(10**width)[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    return text.reshape(-1).view(np.dtype(f"<u{width}") if width > 1 else np.uint8)


_POWERS = 10 ** np.arange(19, dtype=np.int64)

Scaled = tuple[np.ndarray, int | np.ndarray]
"""Non-negative integers scaled by ``10**places``: one ``places`` for all, or one per row."""


def fixed_digest(symbol: str, times_us: np.ndarray, values: Sequence[Scaled]) -> str | None:
    """``columns_digest`` of five fixed-point columns, written from their integers: each line
    is laid out in a byte matrix, one column of it per character position (each field as wide
    as its longest text), digits written four at a time from a table, and the padding of the
    shorter texts dropped at the end. ``None`` (the caller takes the text path) where a time is
    negative or ``str`` would write a value in exponent form (``numbers.exponent_form``).

    A value's text is ``str`` of ``Decimal(integer).scaleb(-places)``: its integer part
    without leading zeros (``0`` if none), then ``.`` and exactly ``places`` digits if places
    is not 0 (``0.05``, ``42000``, ``1.50``); the same as its text in a bar file whenever that
    text was ``str``'s own."""
    if len(times_us) and int(times_us.min()) < 0:
        return None
    if any(exponent_form(integers, places) for integers, places in values):
        return None
    prefix = f"{symbol},".encode()
    digest = hashlib.sha256()
    for start in range(0, len(times_us), LINE_ROWS):
        stop = start + LINE_ROWS
        fields: list[Scaled] = [(times_us[start:stop], 0)]
        for integers, places in values:
            part = places if isinstance(places, int) else places[start:stop]
            fields.append((integers[start:stop], part))
        digest.update(_lines(prefix, fields))
    return digest.hexdigest()


def _lines(prefix: bytes, fields: list[Scaled]) -> memoryview:
    """The lines of one chunk of rows, one after the other."""
    rows = len(fields[0][0])
    layouts = [_Layout(integers, places) for integers, places in fields]
    width = len(prefix) + sum(layout.width + 1 for layout in layouts)  # each with "," or "\n"
    matrix = np.empty((rows, width), dtype=np.uint8)
    starts = np.cumsum([len(prefix)] + [layout.width + 1 for layout in layouts[:-1]]).tolist()
    for start, layout in zip(starts, layouts, strict=True):  # digits first: see _write_digits
        layout.write_digits(matrix, start)
    _write_text(matrix, 0, prefix)
    keep: np.ndarray | None = None
    for number, (start, layout) in enumerate(zip(starts, layouts, strict=True)):
        keep = layout.write_rest(matrix, start, keep)
        end = ord("\n" if number == len(layouts) - 1 else ",")
        _column(matrix, start + layout.width, np.uint8)[:] = end
    if keep is None:
        return memoryview(matrix.reshape(-1).data)
    # Arrow's filter copies the runs of kept bytes in blocks: a few times faster than NumPy's
    bits = np.packbits(keep.reshape(-1), bitorder="little")
    mask = pa.Array.from_buffers(pa.bool_(), keep.size, [None, pa.py_buffer(bits)])
    data = pa.Array.from_buffers(pa.uint8(), matrix.size, [None, pa.py_buffer(matrix)])
    kept = pc.filter(data, mask)
    return memoryview(kept.buffers()[1])[kept.offset : kept.offset + len(kept)]


def _column(matrix: np.ndarray, column: int, kind: type[np.generic]) -> np.ndarray:
    """The bytes of ``matrix`` at ``column`` onwards of every row, as one ``kind`` a row."""
    return np.ndarray(
        (matrix.shape[0],),
        dtype=np.dtype(kind).newbyteorder("<"),
        buffer=matrix,
        offset=column,
        strides=(matrix.shape[1],),
    )


_WORDS = ((8, np.uint64), (4, np.uint32), (2, np.uint16), (1, np.uint8))


def _write_text(matrix: np.ndarray, column: int, text: bytes) -> None:
    """``text`` at ``column`` of every row, up to eight bytes a step."""
    done = 0
    while done < len(text):
        size, kind = next((size, kind) for size, kind in _WORDS if size <= len(text) - done)
        _column(matrix, column + done, kind)[:] = int.from_bytes(text[done : done + size], "little")
        done += size


class _Layout:
    """One field's place in the line matrix: its integer part right-aligned in as many
    columns as the longest has digits, then the point and the places, left-aligned."""

    __slots__ = ("_fraction", "_places", "_units", "digits", "point", "width")

    def __init__(self, integers: np.ndarray, places: int | np.ndarray) -> None:
        self._places = places
        if isinstance(places, int):
            self.point = places
        else:
            self.point = int(places.max()) if len(places) else 0
        if self.point == 0:
            units, fraction = integers, integers[:0]
        elif isinstance(places, int):
            units = integers // int(_POWERS[places])
            fraction = integers - units * int(_POWERS[places])
        elif int(integers.max()) * 10 ** (self.point - int(places.min())) < 2**63:
            aligned = integers * _POWERS.take(self.point - places)  # all at ``point`` places
            units = aligned // int(_POWERS[self.point])
            fraction = aligned - units * int(_POWERS[self.point])
        else:
            divisor = _POWERS.take(places)
            units = integers // divisor
            fraction = (integers - units * divisor) * _POWERS.take(self.point - places)
        self._units, self._fraction = units, fraction  # places left-aligned in ``point``
        largest = int(units.max()) if len(units) else 0
        self.digits = len(str(largest))
        self.width = self.digits + (self.point + 1 if self.point else 0)

    def write_digits(self, matrix: np.ndarray, column: int) -> None:
        """The field's digits at ``column`` onwards, the places after a gap for the point."""
        _write_digits(matrix, column, self.digits, self._units)
        if self.point:
            _write_digits(matrix, column + self.digits + 1, self.point, self._fraction)

    def write_rest(
        self, matrix: np.ndarray, column: int, keep: np.ndarray | None
    ) -> np.ndarray | None:
        """The point, after ``write_digits``; returns which bytes of the matrix are text
        (``None``: all so far), marking this field's padding."""
        units = self._units
        padded = self.digits > 1 and int(units.min()) < int(_POWERS[self.digits - 1])
        varying = not isinstance(self._places, int) and int(self._places.min()) < self.point
        if self.point:
            _column(matrix, column + self.digits, np.uint8)[:] = ord(".")
        if not (padded or varying):
            return keep
        if keep is None:
            keep = np.ones(matrix.shape, dtype=bool)
        if padded:  # the leading zeros of a shorter integer part
            for position in range(self.digits - 1):
                keep[:, column + position] = units >= _POWERS[self.digits - 1 - position]
        if varying:  # no point for no places, and fewer places than the most
            places = self._places
            for position in range(self.point + 1):  # the point, then each place
                keep[:, column + self.digits + position] = places > max(position - 1, 0)
        return keep


def _write_digits(matrix: np.ndarray, column: int, count: int, numbers: np.ndarray) -> None:
    """``numbers`` (each below ``10**count``) as ``count`` zero-padded digits at ``column``.
    Three leading digits are written as four, the first a ``0`` in the column before: that
    one is a separator, the symbol's ``,`` or a point, which are written afterwards."""
    end = column + count
    rest = numbers
    while end > column:
        width = 4 if end - column >= 3 else end - column
        end -= width
        if end > column:
            higher = rest // int(_POWERS[width])
            group = rest - higher * int(_POWERS[width])
            rest = higher
        else:
            group = rest
        table = _digits(width)
        _column(matrix, end, table.dtype.type)[:] = table.take(group)
