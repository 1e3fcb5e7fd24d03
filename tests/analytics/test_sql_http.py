"""The ad-hoc SQL guard on the HTTP path: clickhouse-connect's real HTTP client (an ``http://``
``LH_CLICKHOUSE_URL``, opened as production opens it) against a ClickHouse HTTP stand-in
served from chDB (tests/fixtures/clickhouse_http.py), with the same corpus as on chDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.httpclient import HttpClient
from typer.testing import CliRunner

from api.cli import app
from projections.clickhouse.client import open_reader, parse_clickhouse_url
from projections.queries.analytics import ReadOnlyViolationError, ensure_read_only, run_sql
from projections.queries.analytics.readonly import AD_HOC_SETTINGS
from projections.queries.analytics.run import READ_ONLY
from tests.analytics.conftest import Analytics
from tests.analytics.test_sql_and_cli import ALLOWED, BYPASS_ATTEMPTS
from tests.fixtures.clickhouse_http import ClickHouseHTTPStandIn, clickhouse_http


@pytest.fixture(scope="module")
def server(analytics: Analytics) -> Iterator[ClickHouseHTTPStandIn]:
    with clickhouse_http(parse_clickhouse_url(analytics.url).path) as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def http_url(analytics: Analytics, server: ClickHouseHTTPStandIn) -> str:
    return server.url(parse_clickhouse_url(analytics.url).database)


@pytest.fixture(scope="module")
def client(http_url: str) -> Iterator[Any]:
    reader = open_reader(http_url)
    assert isinstance(reader, HttpClient)  # the HTTP code path, not chDB's
    yield reader
    reader.close()


@pytest.mark.parametrize("sql", ALLOWED)
def test_one_select_is_allowed_over_http(client: Any, sql: str) -> None:
    assert run_sql(client, sql).columns


@pytest.mark.parametrize(("sql", "message"), BYPASS_ATTEMPTS)
def test_every_bypass_attempt_is_refused_over_http(client: Any, sql: str, message: str) -> None:
    with pytest.raises(ReadOnlyViolationError, match=message):
        ensure_read_only(client, sql)


def test_http_results_equal_chdb_results(client: Any, analytics: Analytics) -> None:
    sql = "SELECT symbol, count() AS n, sum(quantity) AS q FROM fills FINAL GROUP BY symbol"
    over_http = run_sql(client, sql)
    assert over_http == run_sql(analytics.client, sql)
    assert over_http.rows


def test_the_bounds_reach_the_server_as_settings(
    client: Any, server: ClickHouseHTTPStandIn
) -> None:
    run_sql(client, "SELECT count() AS bounded FROM fills FINAL")
    statement, settings = next(
        (s, settings) for s, settings in reversed(server.statements) if "bounded" in s
    )
    assert statement.startswith("SELECT count() AS bounded FROM fills FINAL")
    assert {k: settings[k] for k in AD_HOC_SETTINGS} == {
        k: str(v) for k, v in AD_HOC_SETTINGS.items()
    }


def test_the_server_itself_enforces_readonly(client: Any) -> None:
    with pytest.raises(DatabaseError, match=r"READONLY|readonly"):
        client.query("CREATE TABLE sneaky (a UInt8) ENGINE = Memory", settings=READ_ONLY)
    assert run_sql(client, "SELECT count() FROM fills FINAL").rows  # the next request is fine


def test_the_two_reported_attacks_touch_nothing_over_http(
    http_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LH_CLICKHOUSE_URL", http_url)
    monkeypatch.setenv("LH_TEST_SECRET", "S3CRET-in-environment")
    runner = CliRunner()
    outfile = runner.invoke(
        app,
        [
            "analytics",
            "sql",
            "SELECT concat($$'$$, char(10), 'echo INJECTED', char(10)) AS a "
            "INTO OUTFILE 'victim.txt' APPEND --'",
        ],
    )
    environ = runner.invoke(
        app,
        ["analytics", "sql", "SELECT replaceAll(file('/proc/self/environ'), char(0), char(10))"],
    )
    read = runner.invoke(app, ["analytics", "sql", "SELECT count() AS n FROM fills FINAL"])
    assert outfile.exit_code == 2 and environ.exit_code == 2, outfile.output + environ.output
    assert "refused" in outfile.output and "refused" in environ.output
    assert not (tmp_path / "victim.txt").exists()
    assert "S3CRET" not in environ.output
    assert read.exit_code == 0, read.output
