"""Arrow columns as NumPy arrays and back, through their buffers: pyarrow imports pandas on
the first ``to_numpy``, ``pa.array`` or ``pa.scalar`` (0.2-0.7 CPU s, a fifth of reading a
million-row file or more), and nothing else a run does needs pandas.
tests/marketdata/test_loading.py checks that loading a file does not import it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_DTYPES: dict[pa.DataType, type[np.generic]] = {
    pa.int8(): np.int8,
    pa.int16(): np.int16,
    pa.int32(): np.int32,
    pa.int64(): np.int64,
    pa.float64(): np.float64,
}


def numpy_of(column: pa.Array | pa.ChunkedArray, *, nulls: bool = False) -> np.ndarray:
    """The values of an int8-64/float64/bool column (all chunks, in order); without nulls,
    or with ``nulls`` whatever the buffer holds at a null."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = [_values(chunk, nulls) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, dtype=bool if column.type == pa.bool_() else _DTYPES[column.type])
    return np.concatenate(parts)


def _values(chunk: pa.Array, nulls: bool) -> np.ndarray:
    if chunk.null_count and not nulls:
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


def arrow_of(values: np.ndarray) -> pa.Array:
    """An int64 Arrow array over ``values`` (copied only if not contiguous int64)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def repeated(text: str, count: int) -> pa.Array:
    """A ``pa.string()`` array of ``count`` times ``text``."""
    encoded = text.encode()
    offsets = np.arange(count + 1, dtype=np.int32) * len(encoded)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(encoded * count)]
    return pa.Array.from_buffers(pa.string(), count, buffers)
