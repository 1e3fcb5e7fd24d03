"""Backtest artefacts in the object store: trades.csv, equity.parquet, metrics.json.

Same input, same bytes: rows keep their given order, decimals are written exactly, JSON keys
are sorted, and the Parquet file is written without timestamps of its own. That makes a rerun
a no-op for anyone comparing hashes, and lets two runs be diffed byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.objectstore import ObjectStore
from domain.events.envelope import from_microseconds
from domain.trades import ClosedTrade, EquityPoint

TRADE_COLUMNS = (
    "symbol", "side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price",
    "pnl", "fees",
)  # fmt: skip
EQUITY_SCHEMA = pa.schema(
    [("time", pa.timestamp("us", tz="UTC")), ("equity", pa.decimal128(38, 18))]
)


def artefact_prefix(run_id: str) -> str:
    if not run_id or "/" in run_id or run_id.startswith(".") or run_id != run_id.strip():
        raise ValueError(f"run id {run_id!r} cannot be used in an object key")
    return f"backtests/{run_id}/"


def write_backtest_artefacts(
    store: ObjectStore,
    run_id: str,
    trades: Sequence[ClosedTrade],
    equity_curve: Sequence[EquityPoint],
    metrics: dict[str, float | int | str],
) -> list[str]:
    """Write the three artefacts of run ``run_id``; returns their keys (metrics.json last)."""
    prefix = artefact_prefix(run_id)
    objects = [
        (f"{prefix}trades.csv", trades_csv(trades), "text/csv"),
        (f"{prefix}equity.parquet", equity_parquet(equity_curve), "application/vnd.apache.parquet"),
        (f"{prefix}metrics.json", metrics_json(run_id, metrics), "application/json"),
    ]
    for key, data, content_type in objects:
        store.put(key, data, content_type)
    return [key for key, _, _ in objects]


def trades_csv(trades: Sequence[ClosedTrade]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    for trade in trades:
        writer.writerow(
            [
                trade.symbol,
                trade.side.value,
                _exact(trade.quantity),
                _iso(trade.entry_time_us),
                _exact(trade.entry_price),
                _iso(trade.exit_time_us),
                _exact(trade.exit_price),
                _exact(trade.pnl),
                _exact(trade.fees),
            ]
        )
    return buffer.getvalue().encode()


def equity_parquet(points: Sequence[EquityPoint]) -> bytes:
    """Equity as Decimal128(38, 18); more than 18 decimal places is refused, not rounded."""
    try:
        table = pa.table(
            {
                "time": pa.array([point.time_us for point in points], pa.int64()).cast(
                    EQUITY_SCHEMA.field("time").type
                ),
                "equity": pa.array([point.equity for point in points], pa.decimal128(38, 18)),
            },
            schema=EQUITY_SCHEMA,
        )
    except (pa.ArrowInvalid, ArithmeticError) as error:
        raise ValueError(f"equity curve does not fit Decimal(38, 18): {error}") from None
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", write_statistics=True)
    return bytes(sink.getvalue().to_pybytes())


def metrics_json(run_id: str, metrics: dict[str, float | int | str]) -> bytes:
    """Sorted keys; a non-finite float (e.g. Sharpe of a flat curve) is written as null."""
    cleaned = {
        key: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for key, value in metrics.items()
    }
    document = {"run_id": run_id, "metrics": cleaned}
    return (json.dumps(document, sort_keys=True, indent=2, allow_nan=False) + "\n").encode()


def _exact(value: Decimal) -> str:
    return f"{value:f}"


def _iso(time_us: int) -> str:
    return from_microseconds(time_us).isoformat(timespec="microseconds").replace("+00:00", "Z")
