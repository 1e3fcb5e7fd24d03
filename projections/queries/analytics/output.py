"""Render a ``QueryResult`` as CSV or JSON; decimals stay exact (written as strings in JSON)."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from projections.queries.analytics.run import QueryResult


def cell(value: Any) -> Any:
    """A JSON-ready value: exact decimals as text, UTC times in ISO 8601, NaN as null."""
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return moment.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [cell(item) for item in value]
    return value


def text(value: Any) -> str:
    """How a value reads in a table or CSV cell."""
    shown = cell(value)
    if shown is None:
        return ""
    if isinstance(shown, list):
        return json.dumps(shown)
    return str(shown)


def to_csv(result: QueryResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([text(value) for value in row])
    return buffer.getvalue()


def to_json(result: QueryResult) -> str:
    records = [{column: cell(value) for column, value in record.items()}
               for record in result.records()]  # fmt: skip
    return json.dumps(records, indent=2, ensure_ascii=False)


def _decimal_text(value: Decimal) -> str:
    """Drop ClickHouse's trailing zeros (``1.500000000000000000`` -> ``1.5``), keep exactness."""
    if value == 0:
        return "0"
    normal = value.normalize()
    return f"{normal:f}"
