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
from projections.queries.analytics import (
    QUERIES,
    ReadOnlyViolationError,
    ensure_read_only,
    run_named,
    run_sql,
)
from projections.queries.analytics.run import READ_ONLY
from tests.analytics import expected
from tests.analytics.conftest import Analytics

runner = CliRunner()


@pytest.fixture
def lh(analytics: Analytics, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LH_CLICKHOUSE_URL", analytics.url)
    return runner


def fill_count(analytics: Analytics) -> int:
    return len(expected.of_type(analytics.events, "FillRecorded"))


ALLOWED = [
    "SELECT 1",
    "  with t AS (SELECT price FROM fills) SELECT count() FROM t;",
    "SELECT 'a;b' AS x -- trailing; comment",
    "/* lead */ (SELECT 2)",
    "SELECT f.price FROM lianghua.fills AS f LIMIT 1",
    "SELECT count() FROM fills WHERE symbol IN (SELECT symbol FROM fills) UNION ALL SELECT 1",
    "SELECT arrayMap(x -> x * 2, [1, 2]) AS doubled",
    "SELECT $$it's$$ AS heredoc_text",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_one_select_over_the_analytics_tables_is_allowed(analytics: Analytics, sql: str) -> None:
    assert run_sql(analytics.client, sql).columns


# Each entry was a way around the old lexer, or a way to reach outside the analytics tables.
BYPASS_ATTEMPTS = [
    ("DROP TABLE fills", "only one SELECT"),
    ("insert into fills select * from fills", "only one SELECT"),
    ("ALTER TABLE fills DELETE WHERE 1", "only one SELECT"),
    ("SELECT 1; DROP TABLE fills", "not one valid statement"),
    ("-- SELECT\nOPTIMIZE TABLE fills", "only one SELECT"),
    ("SHOW TABLES", "only one SELECT"),
    ("EXPLAIN SELECT 1", "only one SELECT"),
    ("SELECT 'unterminated", "not one valid statement"),
    ("SELECT 1 /* unterminated", "not one valid statement"),
    ("  ;  ", "no SQL|not one valid statement"),
    ("SELECT 1 INTO OUTFILE 'x.csv'", "INTO OUTFILE"),
    (
        "SELECT concat($$'$$, char(10), 'echo INJECTED', char(10)) AS a "
        "INTO OUTFILE 'victim.txt' APPEND --'",
        "INTO OUTFILE",
    ),
    ("SELECT 1 FORMAT TabSeparated", "FORMAT"),
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
    ("SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)", "SETTINGS"),
    ("SELECT replaceAll(file('/proc/self/environ'), char(0), char(10)) AS env", "file"),
    ("SELECT FILE('/etc/passwd')", "FILE"),
    ("SELECT `file`('/etc/passwd')", "file"),
    ("SELECT /* x */ fIlE /* y */ ('/etc/passwd')", "fIlE"),
    ("SELECT arrayMap(x -> file(x), ['/etc/passwd'])", "file"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "table function file"),
    ("SELECT * FROM url('http://127.0.0.1:1/', CSV)", "table function url"),
    ("SELECT * FROM s3('http://127.0.0.1:1/b/k', CSV)", "table function s3"),
    ("SELECT * FROM remote('127.0.0.1', system.one)", "table function remote"),
    ("SELECT * FROM executable('id', 'TSV', 'a String')", "table function executable"),
    ("SELECT * FROM mysql('127.0.0.1:3306', 'test', 't', 'root', '')", "table function mysql"),
    ("SELECT * FROM fills WHERE 1 IN (SELECT * FROM input('a UInt8'))", "table function input"),
    ("SELECT * FROM numbers(10)", "table function numbers"),
    ("SELECT * FROM system.users", "system.users"),
    ("SELECT * FROM `system`.`users`", "system.users"),
    ("SELECT 1 WHERE 'default' IN system.users", "system.users"),
    ("SELECT * FROM fills JOIN information_schema.tables USING (symbol)", "information_schema"),
    ("WITH (SELECT getSetting('readonly')) AS r SELECT r", "getSetting"),
    ("SELECT dictGet('d', 'x', toUInt64(1))", "dictGet"),
    ("SELECT joinGet('j', 'v', 1)", "joinGet"),
    ("SELECT hostName(), currentUser()", "hostName"),
    ("SELECT sleepEachRow(1) FROM fills", "sleepEachRow"),
]


@pytest.mark.parametrize(("sql", "message"), BYPASS_ATTEMPTS)
def test_every_bypass_attempt_is_refused(analytics: Analytics, sql: str, message: str) -> None:
    with pytest.raises(ReadOnlyViolationError, match=message):
        ensure_read_only(analytics.client, sql)


def test_the_two_reported_attacks_touch_nothing(
    lh: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LH_TEST_SECRET", "S3CRET-in-environment")
    outfile = lh.invoke(
        app,
        [
            "analytics",
            "sql",
            "SELECT concat($$'$$, char(10), 'echo INJECTED', char(10)) AS a "
            "INTO OUTFILE 'victim.txt' APPEND --'",
        ],
    )
    environ = lh.invoke(
        app,
        ["analytics", "sql", "SELECT replaceAll(file('/proc/self/environ'), char(0), char(10))"],
    )
    assert outfile.exit_code == 2 and environ.exit_code == 2
    assert not (tmp_path / "victim.txt").exists()
    assert "S3CRET" not in environ.output


def test_ad_hoc_results_are_bounded(analytics: Analytics) -> None:
    sql = "SELECT r FROM fills ARRAY JOIN range(1000) AS r ARRAY JOIN range(1000) AS s"
    with pytest.raises(ReadOnlyViolationError, match="more than 1,000,000 rows"):
        run_sql(analytics.client, sql)
    assert run_sql(analytics.client, "SELECT count() FROM fills FINAL").rows


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


def test_the_engine_itself_enforces_readonly(analytics: Analytics) -> None:
    """The second guard: even a write that slipped past the parse check cannot run.

    Last in this module: a refused statement leaves chDB's session read-only for good.
    """
    with pytest.raises(DatabaseError, match="READONLY"):
        analytics.client.query("CREATE TABLE sneaky (a UInt8) ENGINE = Memory", settings=READ_ONLY)
