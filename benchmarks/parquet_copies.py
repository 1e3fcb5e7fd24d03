"""Parquet copies of a bar CSV for the loading benchmark, one per way a file may hold prices:
float64 columns, decimal128 columns (each with the most decimal places its texts have: the
same numbers, so the same run id as the CSV), and int64 columns (those decimals' integers, as a
file of prices in cents would hold them). Prints ONE JSON object naming the files.

    .venv/bin/python -m benchmarks.parquet_copies /tmp/bars.csv
    .venv/bin/python -m benchmarks.load /tmp/bars.decimal.parquet
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

VALUES = ("open", "high", "low", "close", "volume")


def copies(csv: Path) -> dict[str, str]:
    """Write ``<stem>.float.parquet``, ``.decimal.parquet`` and ``.integer.parquet`` beside
    ``csv``; their paths by kind."""
    texts = pacsv.read_csv(
        csv, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(VALUES, pa.string()))
    )
    floats = decimals = integers = texts
    for name in VALUES:
        column = texts.column(name)
        point = pc.find_substring(column, ".")
        after = pc.subtract(pc.subtract(pc.binary_length(column), point), 1)
        places = pc.max(pc.if_else(pc.less(point, 0), 0, after)).as_py()
        exact = pc.cast(column, pa.decimal128(18, places))
        unscaled = pc.cast(pc.replace_substring(pc.cast(exact, pa.string()), ".", ""), pa.int64())
        position = texts.schema.get_field_index(name)
        floats = floats.set_column(position, name, pc.cast(column, pa.float64()))
        decimals = decimals.set_column(position, name, exact)
        integers = integers.set_column(position, name, unscaled)
    written: dict[str, str] = {}
    for kind, table in (("float", floats), ("decimal", decimals), ("integer", integers)):
        path = csv.with_name(f"{csv.name.split('.')[0]}.{kind}.parquet")
        pq.write_table(table, path)
        written[kind] = str(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("csv", type=Path)
    args = parser.parse_args()
    print(json.dumps({"benchmark": "parquet_copies", "files": copies(args.csv)}))


if __name__ == "__main__":
    main()
