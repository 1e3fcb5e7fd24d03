"""Load OHLCV bars from a CSV or Parquet file into exact-decimal ``BarSeries``, validated."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.marketdata.arrays import arrow_of, numpy_of
from adapters.marketdata.columnar import (
    ColumnarBars,
    FixedPointColumn,
    MixedPointColumn,
    TextColumn,
    ValueColumn,
)
from adapters.marketdata.columns import VALUE_COLUMNS
from adapters.marketdata.csv_source import read_csv_columns
from adapters.marketdata.digest import columns_digest, fixed_digest
from adapters.marketdata.errors import GapsError, MarketDataError
from adapters.marketdata.numbers import (
    NumericColumn,
    Places,
    canonical_texts,
    exponent_form,
    fixed_point,
    numeric_column,
    written_as_str,
)
from adapters.marketdata.parquet_source import read_parquet_columns
from adapters.marketdata.timestamps import parse_timestamps
from adapters.marketdata.validation import (
    CalendarGaps,
    DataReport,
    Gap,
    ProblemLog,
    Series,
    check_times,
    check_values,
)
from domain.market import BarSeries

CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def load_bars(
    path: Path, *, symbol: str | None = None, allow_gaps: bool = False
) -> dict[str, BarSeries]:
    """Bars per symbol, in file order, each series with its digest computed from the columns.
    Raises ``MarketDataError`` naming file, row and reason.

    A file without a ``symbol`` column holds one symbol: ``symbol``, or the file name's stem
    uppercased. With a ``symbol`` column, ``symbol`` selects one of the symbols present.
    Gaps longer than the bar interval are fatal unless ``allow_gaps``, except those the series'
    trading calendar explains (weekends, holidays, nights: see ``read_bars`` for the summary).
    """
    return read_bars(path, symbol=symbol, allow_gaps=allow_gaps)[0]


def read_bars(
    path: Path, *, symbol: str | None = None, allow_gaps: bool = False
) -> tuple[dict[str, BarSeries], DataReport]:
    """Like ``load_bars`` but also returns the validation report (gaps, interval, format)."""
    try:
        return _read_bars(Path(path), symbol, allow_gaps)
    except pa.ArrowException as error:  # a case the specific checks did not foresee
        text = str(error).encode("ascii", "backslashreplace").decode()[:200]
        raise MarketDataError(f"{path}: unreadable market data: {text}") from None
    finally:  # the file's texts are gone: give their pages back for the run
        pa.default_memory_pool().release_unused()


def _read_bars(
    path: Path, symbol: str | None, allow_gaps: bool
) -> tuple[dict[str, BarSeries], DataReport]:
    where = str(path)
    columns = _read_columns(path)
    rows = len(columns["timestamp"])
    stamps = parse_timestamps(columns["timestamp"], where)
    numbers = {name: numeric_column(columns[name]) for name in VALUE_COLUMNS}
    selection = _select_symbols(columns.get("symbol"), symbol, path, rows)
    log = ProblemLog()
    intervals: dict[str, int | None] = {}
    gaps: list[Gap] = []
    calendar_gaps: list[CalendarGaps] = []

    def text_of(name: str, row: int) -> str:
        return numbers[name].text_at(row - 1)

    for name, indices in selection.items():
        rows_of = _rows_of(indices, rows)
        series = Series(
            name,
            indices + 1,
            rows_of(stamps.micros),
            {column: rows_of(numbers[column].values) for column in VALUE_COLUMNS},
            {column: rows_of(numbers[column].too_fine) for column in VALUE_COLUMNS},
        )
        check_values(series, log, text_of)
        checked = check_times(series, log)
        intervals[name] = checked.interval_us
        gaps.extend(checked.gaps)
        if checked.calendar_gaps is not None:
            calendar_gaps.append(checked.calendar_gaps)
    report = DataReport(
        source=where,
        rows=rows,
        timestamp_format=stamps.description,
        bars_per_symbol={name: len(indices) for name, indices in selection.items()},
        interval_us=intervals,
        problems=log.listed(),
        problem_count=log.count,
        gaps=tuple(gaps),
        calendar_gaps=tuple(calendar_gaps),
    )
    if not report.ok:
        raise MarketDataError(report.problem_message(), report)
    if gaps and not allow_gaps:
        raise GapsError(report)
    with _collector_paused():
        bars = {
            name: _build_bars(name, stamps.micros, numbers, indices, rows)
            for name, indices in selection.items()
        }
    return bars, report


def _rows_of(indices: np.ndarray, rows: int) -> Callable[[np.ndarray], np.ndarray]:
    """Selects a symbol's rows of a column: the column itself (no copy) when it has them all."""
    if len(indices) == rows:
        return lambda column: column
    return lambda column: column[indices]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Millions of new, acyclic objects would trigger many full GC passes (3x slower)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_columns(path: Path) -> dict[str, pa.ChunkedArray]:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return read_csv_columns(path)
    if name.endswith(PARQUET_SUFFIXES):
        return read_parquet_columns(path)
    raise MarketDataError(
        f"{path}: unknown file type; expected one of {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
    )


def _select_symbols(
    column: pa.ChunkedArray | None, wanted: str | None, path: Path, rows: int
) -> dict[str, np.ndarray]:
    """Symbol -> row indices (0-based), in order of first appearance. The names are compared
    as dictionary codes: a file's few distinct names are trimmed, not its million rows."""
    if column is None:
        name = wanted or path.name.split(".")[0].upper()
        return {name: np.arange(rows, dtype=np.int64)}
    if pa.types.is_dictionary(column.type):
        column = column.combine_chunks()  # one dictionary for all chunks (4 bytes a row)
    else:
        column = pc.dictionary_encode(column.combine_chunks())
    trimmed = pc.utf8_trim_whitespace(pc.cast(column.dictionary, pa.string())).to_pylist()
    names = [name or "" for name in trimmed]  # a null name is an empty one
    if len(names) == 1 and names[0] and not column.null_count and wanted in (None, names[0]):
        return {names[0]: np.arange(rows, dtype=np.int64)}  # one name on every row
    code_of = {name: code for code, name in enumerate(dict.fromkeys(names))}
    codes = np.array([code_of[name] for name in names], dtype=np.int64)
    blank = numpy_of(column.is_null())
    of_row = codes[np.clip(numpy_of(column.indices, nulls=True), 0, max(len(codes) - 1, 0))]
    if "" in code_of and len(codes):
        blank = blank | (of_row == code_of[""])
    if bool(blank.any()):
        raise MarketDataError(f"{path}: row {int(np.argmax(blank)) + 1}: empty symbol")
    if len(code_of) == 1:
        order = np.zeros(1, dtype=np.int64)
    else:
        used, first = np.unique(of_row, return_index=True)
        order = used[np.argsort(first)]
    every_name = list(code_of)
    present = [every_name[code] for code in order.tolist()]
    chosen = present
    if wanted is not None:
        if wanted not in present:
            raise MarketDataError(
                f"{path}: symbol {wanted!r} is not in the file; symbols present: "
                f"{', '.join(present)}"
            )
        chosen = [wanted]
    if len(present) == 1:
        return {chosen[0]: np.arange(rows, dtype=np.int64)}
    return {name: np.flatnonzero(of_row == code_of[name]) for name in chosen}


def _build_bars(
    symbol: str,
    micros: np.ndarray,
    numbers: dict[str, NumericColumn],
    indices: np.ndarray,
    rows: int,
) -> BarSeries:
    """The symbol's bars kept in columns (built as ``Bar`` objects only when read), and their
    digest computed from the same texts by Arrow kernels (no Python work per bar)."""
    everything = len(indices) == rows
    take = None if everything else arrow_of(indices)
    times = np.ascontiguousarray(micros if everything else micros[indices], dtype=np.int64)
    columns: list[ValueColumn] = []
    fixed_columns: list[tuple[np.ndarray, Places] | None] = []
    for name in VALUE_COLUMNS:
        number = numbers[name]
        fixed = fixed_point(number, None if everything else indices)
        fixed_columns.append(fixed)
        if fixed is None:
            text = number.texts() if everything else number.texts().take(take)
            encoded = pc.dictionary_encode(text.combine_chunks())  # one dictionary
            codes = numpy_of(encoded.indices)
            columns.append(TextColumn(codes, encoded.dictionary))
            continue
        integers, places = fixed
        if isinstance(places, int):
            columns.append(FixedPointColumn(integers, places))
        else:
            columns.append(MixedPointColumn(integers, places))
    scaled = [fixed for fixed in fixed_columns if fixed is not None]
    digest = fixed_digest(symbol, times, scaled) if len(scaled) == len(fixed_columns) else None
    if digest is None:
        written = [
            _digest_text(numbers[name], fixed, take)
            for name, fixed in zip(VALUE_COLUMNS, fixed_columns, strict=True)
        ]
        digest = columns_digest(symbol, times, written)
    source = ColumnarBars(symbol, times, tuple(columns))
    return BarSeries.from_source(symbol, source, digest)


def _digest_text(
    number: NumericColumn, fixed: tuple[np.ndarray, Places] | None, take: pa.Array | None
) -> pa.ChunkedArray:
    """A column's texts for the digest when ``fixed_digest`` cannot write them (a column of
    texts, an exponent form, a negative time): ``str`` of each value's Decimal."""
    if fixed is None:
        text = number.texts() if take is None else number.texts().take(take)
        return canonical_texts([text])[0]
    text = number.text if take is None else number.text.take(take)
    # a decimal, integer or float column is cast to text in the digest: ``str`` of its
    # Decimals unless in exponent form
    plain = written_as_str(text, *fixed) if number.scaled is None else not exponent_form(*fixed)
    return text if plain else canonical_texts([pc.cast(text, pa.string())])[0]
