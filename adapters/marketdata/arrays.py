"""Arrow columns as NumPy arrays, read from their buffers: pyarrow's ``to_numpy`` imports
pandas on first use (0.2-0.7 CPU s, more than reading a million-row file), and nothing else a
run does needs pandas."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DTYPES: dict[pa.DataType, type[np.generic]] = {
    pa.int8(): np.int8,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.float64(): np.float64,
}


def numpy_of(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The values of a null-free int8/int32/int64/float64/bool column (all chunks, in order)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_values(chunk) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=bool if column.type == pa.bool_() else _DTYPES[column.type])
    return np.concatenate(parts)


def _values(chunk: pa.Array) -> np.ndarray:
    if chunk.null_count:
        raise ValueError(f"{chunk.type} column with nulls has no NumPy form here")
    data = chunk.buffers()[1]
    if chunk.type == pa.bool_():
        if not len(chunk):
            return np.zeros(0, dtype=bool)
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little")
        return bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)
    dtype = _DTYPES[chunk.type]
    if not len(chunk):
        return np.empty(0, dtype=dtype)
    return np.frombuffer(
        data, dtype=dtype, count=len(chunk), offset=chunk.offset * dtype().itemsize
    )
