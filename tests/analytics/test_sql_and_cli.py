"""`lh analytics` end to end, and the two guards around ad-hoc SQL."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from typer.testing import CliRunner

from api.cli import app
from projections.analytics import (
    QUERIES,
    ReadOnlyViolationError,
    ensure_read_only,
    run_named,
    run_sql,
)
from projections.analytics.run import READ_ONLY
from tests.analytics import expected
from tests.analytics.conftest import Analytics

runner = CliRunner()


@pytest.fixture
def lh(analytics: Analytics, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LH_CLICKHOUSE_URL", analytics.url)
    return runner


def fill_count(analytics: Analytics) -> int:
    return len(expected.of_type(analytics.events, "FillRecorded"))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  with t AS (SELECT 1) SELECT * FROM t;",
        "SHOW TABLES",
        "DESCRIBE TABLE fills",
        "EXPLAIN SELECT 1",
        "SELECT 'a;b' AS x -- trailing; comment",
        "/* lead */ (SELECT 2)",
    ],
)
def test_single_reads_are_allowed(sql: str) -> None:
    assert ensure_read_only(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP TABLE fills", "got DROP"),
        ("insert into fills select * from fills", "got INSERT"),
        ("ALTER TABLE fills DELETE WHERE 1", "got ALTER"),
        ("SELECT 1; DROP TABLE fills", "only one statement"),
        ("SELECT 1 INTO OUTFILE 'x.csv'", "INTO OUTFILE"),
        ("SELECT 'unterminated", "unterminated"),
        ("  ;  ", "no SQL"),
        ("-- SELECT\nOPTIMIZE TABLE fills", "got OPTIMIZE"),
    ],
)
def test_anything_but_one_read_is_refused(sql: str, message: str) -> None:
    with pytest.raises(ReadOnlyViolationError, match=message):
        ensure_read_only(sql)


def test_the_engine_itself_enforces_readonly(analytics: Analytics) -> None:
    """The second guard: even SQL that slipped past inspection cannot write."""
    with pytest.raises(DatabaseError, match="READONLY"):
        analytics.client.command(
            "CREATE TABLE sneaky (a UInt8) ENGINE = Memory", settings=READ_ONLY
        )
    with pytest.raises(DatabaseError, match="readonly"):
        run_sql(analytics.client, "SELECT 1 SETTINGS readonly = 0")


def test_outfile_is_refused_and_nothing_is_written(analytics: Analytics, tmp_path: Path) -> None:
    target = tmp_path / "leak.csv"
    with pytest.raises(ReadOnlyViolationError):
        run_sql(analytics.client, f"SELECT * FROM fills INTO OUTFILE '{target}'")
    assert not target.exists()


def test_run_sql_returns_columns_and_rows(analytics: Analytics) -> None:
    result = run_sql(analytics.client, "SELECT count() AS n FROM fills FINAL;")
    assert result.columns == ["n"]
    assert result.rows == [(fill_count(analytics),)]


def test_cli_list_names_every_query(lh: CliRunner) -> None:
    result = lh.invoke(app, ["analytics", "list"])
    assert result.exit_code == 0, result.output
    for name in QUERIES:
        assert name in result.output


def test_cli_run_json_is_exact(lh: CliRunner, analytics: Analytics) -> None:
    result = lh.invoke(app, ["analytics", "run", "fill_rate", "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    want = run_named(analytics.client, "fill_rate").records()
    assert [Decimal(r["filled_qty"]) for r in records] == [r["filled_qty"] for r in want]
    assert [r["fill_rate"] for r in records] == [r["fill_rate"] for r in want]


def test_cli_run_csv_with_filters(lh: CliRunner) -> None:
    args = ["analytics", "run", "ohlcv", "--symbol", "BTCUSDT", "--interval", "1d", "-f", "csv"]
    result = lh.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["time"] for row in rows] == ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"]
    assert rows[0]["bars"] == "1440"


def test_cli_run_table_and_bad_filter(lh: CliRunner) -> None:
    shown = lh.invoke(app, ["analytics", "run", "latency", "--from", "2024-01-01T12:00:00"])
    assert shown.exit_code == 0, shown.output
    assert "6 rows" in shown.output  # three stages x two strategies
    refused = lh.invoke(app, ["analytics", "run", "pnl_by_day", "--symbol", "BTCUSDT"])
    assert refused.exit_code == 2
    assert "does not take --symbol" in refused.output
    bad_time = lh.invoke(app, ["analytics", "run", "ohlcv", "--from", "yesterday"])
    assert bad_time.exit_code == 2
    assert "ISO 8601" in bad_time.output


def test_cli_sql_reads_and_refuses_writes(lh: CliRunner, analytics: Analytics) -> None:
    read = lh.invoke(
        app, ["analytics", "sql", "SELECT count() AS n FROM fills FINAL", "-f", "json"]
    )
    assert read.exit_code == 0, read.output
    assert json.loads(read.stdout) == [{"n": fill_count(analytics)}]

    refused = lh.invoke(app, ["analytics", "sql", "DROP TABLE fills"])
    assert refused.exit_code == 2
    assert "refused" in refused.output
    still_there = run_sql(analytics.client, "SELECT count() FROM fills FINAL")
    assert still_there.rows == [(fill_count(analytics),)]
