"""Price and volume columns: floats for vectorized checks, exact Decimals built from the text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$"


@dataclass(frozen=True, slots=True)
class NumericColumn:
    """``values`` has NaN where ``text`` is not a number; ``unparsable`` marks those rows."""

    text: pa.Array
    values: np.ndarray
    unparsable: np.ndarray


def numeric_column(column: pa.Array) -> NumericColumn:
    """Read any Arrow column as numbers via its text form (floats: the shortest repr)."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = column
    else:
        text = pc.cast(column, pa.string())
    text = pc.utf8_trim_whitespace(pc.fill_null(text, ""))
    try:
        values = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        return NumericColumn(text, values, np.zeros(len(text), dtype=bool))
    except pa.ArrowInvalid:
        pass
    ok = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    cleaned = pc.if_else(ok, text, "nan")
    values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return NumericColumn(text, values, ~ok.to_numpy(zero_copy_only=False))


def decimals(*texts: pa.Array) -> list[list[Decimal]]:
    """Exact decimals from the text of columns that passed validation, one list per column.

    Each distinct text is converted once and the ``Decimal`` objects are shared (bars repeat
    prices a lot: open = previous close), which saves time and most of the memory.
    """
    encoded = pc.dictionary_encode(pa.concat_arrays(list(texts)))
    distinct = np.empty(len(encoded.dictionary), dtype=object)
    distinct[:] = list(map(Decimal, encoded.dictionary.to_pylist()))
    everything = distinct[encoded.indices.to_numpy(zero_copy_only=False)]
    out: list[list[Decimal]] = []
    start = 0
    for text in texts:
        out.append(everything[start : start + len(text)].tolist())
        start += len(text)
    return out
