"""Read a bar CSV with pyarrow: every needed column as text, so prices stay exact decimals."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from adapters.marketdata.columns import map_columns
from adapters.marketdata.errors import MarketDataError

HEADER_BYTES = 1 << 16


def read_csv_columns(path: Path) -> dict[str, pa.ChunkedArray]:
    """Our column name -> Arrow string column (the symbol's dictionary-encoded), for every
    column the file has."""
    where = str(path)
    mapping = map_columns(_header(path), where)
    types = {name: pa.string() for name in mapping.values()}
    if "symbol" in mapping:  # a few distinct names: codes, not a million strings
        types[mapping["symbol"]] = pa.dictionary(pa.int32(), pa.string())
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=list(mapping.values()),
        strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid as error:
        if "CSV parse error" in str(error):
            raise MarketDataError(_malformed_row_message(path, error)) from None
        raise MarketDataError(f"{where}: not a readable CSV file: {_short(error)}") from None
    except (pa.ArrowException, OSError) as error:
        raise MarketDataError(f"{where}: not a readable CSV file: {_short(error)}") from None
    if table.num_rows == 0:
        raise MarketDataError(f"{where}: no data rows (only a header)")
    return table_columns(table, mapping)


def table_columns(table: pa.Table, mapping: dict[str, str]) -> dict[str, pa.ChunkedArray]:
    """Each column in the chunks it was read in: combining them would copy the whole file's
    text once more (and fault in its pages), for no check that needs it."""
    return {ours: table.column(theirs) for ours, theirs in mapping.items()}


def _header(path: Path) -> list[str]:
    """The column names on the first line (compressed files are decompressed on the fly)."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            start = stream.read(HEADER_BYTES)
    except FileNotFoundError:
        raise MarketDataError(f"{path}: file not found") from None
    except (pa.ArrowException, OSError) as error:
        raise MarketDataError(f"{path}: not a readable file: {_short(error)}") from None
    if not start.strip():
        raise MarketDataError(f"{path}: empty file")
    try:
        line = start.splitlines()[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MarketDataError(f"{path}: not a text CSV file (the header is not UTF-8)") from None
    names = next(csv.reader([line]))
    if not any(name.strip() for name in names):
        raise MarketDataError(f"{path}: the first line is blank; expected a header line")
    return names


def _malformed_row_message(path: Path, error: pa.ArrowInvalid) -> str:
    """Name the first malformed row; threaded parsing does not know row numbers, so re-read."""
    numbered: list[pacsv.InvalidRow] = []

    def note(row: pacsv.InvalidRow) -> str:
        numbered.append(row)
        return "skip"

    with contextlib.suppress(pa.ArrowException, OSError):
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=note),
            convert_options=pacsv.ConvertOptions(column_types={}, strings_can_be_null=False),
        )
    first = numbered[0] if numbered else None
    if first is None or first.number is None:
        return f"{path}: malformed CSV: {_short(error)}"
    more = f" ({len(numbered) - 1} more malformed rows)" if len(numbered) > 1 else ""
    return (
        f"{path}: row {first.number - 1}: expected {first.expected_columns} columns, "
        f"got {first.actual_columns}: {_short(first.text, 80)}{more}"
    )


def _short(error: BaseException | str, limit: int = 160) -> str:
    """Arrow errors quote the offending text; keep messages printable and short."""
    text = str(error).encode("ascii", "backslashreplace").decode()
    return text if len(text) <= limit else text[:limit] + "..."
