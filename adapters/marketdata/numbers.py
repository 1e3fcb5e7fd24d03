"""Price and volume columns: floats for vectorized checks, exact Decimals built from the text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.values import SCALE

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
    ``too_fine`` marks numbers with more decimal places than the read models keep."""

    text: pa.Array
    values: np.ndarray
    unparsable: np.ndarray
    too_fine: np.ndarray


def numeric_column(column: pa.Array) -> NumericColumn:
    """Read any Arrow column as numbers via its text form (floats: the shortest repr).

    Every column's text is ``pa.string()`` (a Parquet file may hold ``large_string``), so the
    value columns can be encoded together."""
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    text = pc.utf8_trim_whitespace(pc.fill_null(text, ""))
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        return NumericColumn(text, values, np.zeros(len(text), dtype=bool), _too_fine(text))
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    cleaned = pc.if_else(ok, text, "nan")
    values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return NumericColumn(text, values, ~ok.to_numpy(zero_copy_only=False), _too_fine(text))


def _too_fine(text: pa.Array) -> np.ndarray:
    """Rows whose number has more than ``SCALE`` decimal places: a regex over the column, and a
    ``Decimal`` only for each distinct text in exponent form (rare in bar files)."""
    fine: np.ndarray = pc.match_substring_regex(text, _TOO_FINE).to_numpy(zero_copy_only=False)
    exponent = pc.match_substring_regex(text, _EXPONENT)
    if not pc.any(exponent).as_py():
        return fine
    written = pc.filter(text, exponent)
    wrong = [value for value in pc.unique(written).to_pylist() if too_fine(Decimal(value))]
    if wrong:
        listed: np.ndarray = pc.is_in(text, pa.array(wrong, text.type)).to_numpy(
            zero_copy_only=False
        )
        fine = fine | listed
    return fine


def too_fine(value: Decimal) -> bool:
    """More decimal places than the read models keep (``domain.values.SCALE``)."""
    exponent = value.as_tuple().exponent
    return type(exponent) is int and exponent < -SCALE


@dataclass(frozen=True, slots=True)
class ExactColumns:
    """Columns of validated number texts, dictionary-encoded together so that each distinct
    text is worked on once: its ``Decimal`` is made once and shared (bars repeat prices a lot:
    open = previous close), which saves time and most of the memory."""

    texts: tuple[pa.Array, ...]
    distinct_text: pa.Array
    distinct: np.ndarray  # the Decimal of each distinct text
    indices: np.ndarray  # the columns' rows, one after the other -> position in ``distinct``

    def decimals(self) -> list[list[Decimal]]:
        """Exact decimals, one list per column."""
        return [self.distinct[self.indices[rows]].tolist() for rows in self._rows()]

    def canonical_texts(self) -> list[pa.Array]:
        """Each column as ``str`` of its Decimals writes it, without Python work per value: a
        text matching ``CANONICAL`` is its own ``str``; only the others (rare) are converted."""
        plain = pc.match_substring_regex(self.distinct_text, CANONICAL)
        if pc.all(plain).as_py():
            return list(self.texts)
        redo = ~plain.to_numpy(zero_copy_only=False)
        written = pa.array([str(value) for value in self.distinct[redo]], self.distinct_text.type)
        canonical = pc.replace_with_mask(self.distinct_text, pc.invert(plain), written)
        return [canonical.take(pa.array(self.indices[rows])) for rows in self._rows()]

    def _rows(self) -> list[slice]:
        """Where each column's rows are in ``indices``."""
        ends = np.cumsum([len(text) for text in self.texts]).tolist()
        return [slice(end - len(text), end) for end, text in zip(ends, self.texts, strict=True)]


def exact_columns(*texts: pa.Array) -> ExactColumns:
    """Encode columns that passed validation and convert each distinct text to a Decimal."""
    encoded = pc.dictionary_encode(pa.concat_arrays(list(texts)))
    distinct = np.empty(len(encoded.dictionary), dtype=object)
    distinct[:] = list(map(Decimal, encoded.dictionary.to_pylist()))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    return ExactColumns(tuple(texts), encoded.dictionary, distinct, indices)
