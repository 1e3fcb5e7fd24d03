"""A server database is created only when asked (`lh projections init`), never by a typo.

A mistyped MySQL database name used to be created silently, empty, and the read model built
there. Embedded files (SQLite, chDB directory, local object store) are still created on first
use: they are ours, and `lh demo` must run on a fresh machine with no extra step.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from typer.testing import CliRunner

from api.cli import app
from infra.eventstore.factory import open_event_store
from projections.clickhouse.client import ClickHouseDatabaseMissingError, open_client


def _lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def missing_mysql_url(mysql_server_url: str) -> Iterator[str]:
    """A URL naming a database that does not exist on the MariaDB server (dropped afterwards)."""
    name = f"lhtest_typo_{uuid.uuid4().hex[:12]}"
    yield mysql_server_url.rsplit("/", 1)[0] + f"/{name}"
    engine = sqlalchemy.create_engine(mysql_server_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    engine.dispose()


def _exists(server_url: str, name: str) -> bool:
    engine = sqlalchemy.create_engine(server_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sqlalchemy.text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n"),
                {"n": name},
            ).first()
    finally:
        engine.dispose()
    return found is not None


def test_a_missing_mysql_database_is_named_not_created(
    missing_mysql_url: str, mysql_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = missing_mysql_url.rsplit("/", 1)[1]
    monkeypatch.setenv("LH_SQL_URL", missing_mysql_url)
    for command in ("run", "status", "verify"):
        code, out = _lh("projections", command, "--only", "sql")
        assert code == 2, out
        assert f"database `{name}` does not exist" in out and "lh projections init" in out
        assert "Traceback" not in out
    assert not _exists(mysql_server_url, name)

    code, out = _lh("projections", "init", "--only", "sql")
    assert code == 0, out
    assert _exists(mysql_server_url, name)
    assert _lh("projections", "init", "--only", "sql")[0] == 0  # idempotent
    code, out = _lh("projections", "run", "--only", "sql")
    assert code == 0, out


def test_a_missing_clickhouse_database_is_named_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal HTTP servers get by default, on the same code path, through chDB."""
    url = f"chdb://{tmp_path / 'analytics'}?database=research"
    for _ in range(2):  # refusing did not create it either
        with pytest.raises(ClickHouseDatabaseMissingError) as raised:
            open_client(url, create_database=False)
        assert "database research does not exist" in str(raised.value)
        assert "lh projections init" in str(raised.value)

    monkeypatch.setenv("LH_CLICKHOUSE_URL", url)
    code, out = _lh("projections", "init", "--only", "clickhouse")
    assert code == 0, out
    client = open_client(url, create_database=False)
    try:
        assert "projection_checkpoints" in client.command("SHOW TABLES")
    finally:
        client.close()


def test_embedded_read_models_need_no_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the embedded defaults (SQLite, chDB, a local directory) `run` creates what it needs."""
    code, out = _lh("projections", "run")
    assert code == 0, out
    var = tmp_path / "var"
    assert (var / "readmodel.sqlite").is_file() and (var / "analytics").is_dir()


def test_demo_with_a_missing_server_database_stops_before_recording(
    missing_mysql_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_SQL_URL", missing_mysql_url)
    code, out = _lh("demo")
    assert code == 2, out
    assert "does not exist" in out and "lh projections init" in out
    store = open_event_store(f"sqlite:///{tmp_path / 'var' / 'events.sqlite'}")
    assert store.head() == 0
    store.close()
