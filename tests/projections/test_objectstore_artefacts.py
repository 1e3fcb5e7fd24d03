"""Backtest artefacts: exact contents, same input same bytes, local directory and S3 over HTTP."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.objectstore import open_object_store
from domain.events.types import Side
from domain.trades import ClosedTrade, EquityPoint
from projections.objectstore import write_backtest_artefacts
from tests.fixtures.synthetic import START_US

TRADES = [
    ClosedTrade("BTCUSDT", Side.BUY, Decimal("0.5"), START_US, Decimal("42000.10"),
                START_US + 3_600_000_000, Decimal("42500"), Decimal("249.53"), Decimal("0.42")),
    ClosedTrade("ETHUSDT", Side.SELL, Decimal("3"), START_US + 60_000_000, Decimal("2300.5"),
                START_US + 120_000_001, Decimal("2290.25"), Decimal("30.000000000000000001"),
                Decimal("0")),
]  # fmt: skip
EQUITY = [
    EquityPoint(START_US, Decimal("100000")),
    EquityPoint(START_US + 60_000_000, Decimal("100249.530000000000000001")),
    EquityPoint(START_US + 120_000_000, Decimal("99999.99")),
]
METRICS: dict[str, float | int | str] = {
    "sharpe": 1.25, "trades": 2, "strategy": "sma_cross", "sortino": float("nan"),
}  # fmt: skip


@pytest.fixture(params=["local", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        return str(request.getfixturevalue("s3_url"))
    return f"file://{tmp_path / 'objects'}"


def test_artefacts_hold_exactly_what_was_given(store_url: str) -> None:
    store = open_object_store(store_url)
    keys = write_backtest_artefacts(store, "run-7", TRADES, EQUITY, METRICS)
    assert keys == [
        "backtests/run-7/trades.csv",
        "backtests/run-7/equity.parquet",
        "backtests/run-7/metrics.json",
    ]

    rows = list(csv.DictReader(io.StringIO(store.get(keys[0]).decode())))
    assert [row["symbol"] for row in rows] == ["BTCUSDT", "ETHUSDT"]
    assert rows[1]["pnl"] == "30.000000000000000001"
    assert rows[1]["exit_time"] == "2024-01-01T00:02:00.000001Z"
    assert rows[0]["side"] == "BUY"
    assert Decimal(rows[0]["entry_price"]) == Decimal("42000.10")

    table = pq.read_table(pa.BufferReader(store.get(keys[1])))
    assert table.column("equity").to_pylist() == [point.equity for point in EQUITY]
    times = table.column("time").cast(pa.int64()).to_pylist()
    assert times == [point.time_us for point in EQUITY]

    metrics = json.loads(store.get(keys[2]))
    assert metrics == {
        "run_id": "run-7",
        "metrics": {"sharpe": 1.25, "trades": 2, "strategy": "sma_cross", "sortino": None},
    }


def test_same_input_same_bytes(tmp_path: Path, store_url: str) -> None:
    first = open_object_store(f"file://{tmp_path / 'first'}")
    second = open_object_store(store_url)
    keys = write_backtest_artefacts(first, "run-7", TRADES, EQUITY, METRICS)
    before = [first.get(key) for key in keys]
    write_backtest_artefacts(first, "run-7", TRADES, EQUITY, dict(reversed(METRICS.items())))
    write_backtest_artefacts(second, "run-7", TRADES, EQUITY, METRICS)
    assert [first.get(key) for key in keys] == before
    assert [second.get(key) for key in keys] == before


def test_empty_run_and_bad_input(tmp_path: Path) -> None:
    store = open_object_store(f"file://{tmp_path / 'objects'}")
    keys = write_backtest_artefacts(store, "empty", [], [], {})
    assert store.get(keys[0]).decode().count("\n") == 1  # header only
    assert pq.read_table(pa.BufferReader(store.get(keys[1]))).num_rows == 0
    with pytest.raises(ValueError, match="run id"):
        write_backtest_artefacts(store, "../escape", TRADES, EQUITY, METRICS)
    too_fine = [EquityPoint(START_US, Decimal("1.0000000000000000001"))]
    with pytest.raises(ValueError, match="Decimal"):
        write_backtest_artefacts(store, "run-8", TRADES, too_fine, METRICS)
    assert list(store.list("backtests/run-8/")) == []  # nothing half-written
