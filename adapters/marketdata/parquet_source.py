"""Read a bar Parquet file; prices may be decimal, float, integer or text columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.marketdata.columns import map_columns
from adapters.marketdata.csv_source import table_columns
from adapters.marketdata.errors import MarketDataError


def read_parquet_columns(path: Path) -> dict[str, pa.ChunkedArray]:
    """Our column name -> Arrow column, for every column the file has."""
    where = str(path)
    if not path.exists():
        raise MarketDataError(f"{where}: file not found")
    try:
        schema = pq.read_schema(path)
        mapping = map_columns(list(schema.names), where)
        symbol = mapping.get("symbol")
        kind = schema.field(symbol).type if symbol is not None else pa.null()
        names = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        file = pq.ParquetFile(path, read_dictionary=[symbol] if names else None)
        table = file.read(columns=list(mapping.values()))  # (read_table imports pandas)
    except (pa.ArrowException, OSError) as error:
        raise MarketDataError(
            f"{where}: not a readable Parquet file (truncated or corrupt?): {error}"
        ) from None
    if table.num_rows == 0:
        raise MarketDataError(f"{where}: no data rows")
    return table_columns(table, mapping)
