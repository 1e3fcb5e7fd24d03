"""`lh projections run/status/rebuild/verify` on a real SQLite log and SQLite/MariaDB rows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from projections.sql.models import POSITIONS
from projections.sql.projection import SqlProjection
from tests.projections.support import dump


@pytest.fixture
def cli_env(sql_url: str, small_log: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the CLI at a private copy of the session log and a fresh read model."""
    source = Path(small_log.removeprefix("sqlite:///"))
    copy = tmp_path / "events.sqlite"
    shutil.copy(source, copy)
    monkeypatch.setenv("LH_EVENT_STORE", f"sqlite:///{copy}")
    monkeypatch.setenv("LH_SQL_URL", sql_url)
    return sql_url


def _lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["projections", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_run_status_rebuild_and_verify(cli_env: str) -> None:
    code, out = _lh("run", "--only", "sql", "--batch-size", "333")
    assert code == 0, out
    code, out = _lh("status", "--only", "sql", "--json")
    status = json.loads(out)
    head = status["head"]
    assert code == 0 and head > 5_000
    assert status["projections"] == [
        {"name": "sql", "checkpoint": head, "head": head, "lag": 0, "failed": None}
    ]
    projection = SqlProjection.open(cli_env)
    incremental = dump(projection)

    code, out = _lh("rebuild", "sql", "--yes", "--batch-size", "5000")
    assert code == 0, out
    assert f"from {head} events" in out
    assert dump(projection) == incremental

    code, out = _lh("verify", "--only", "sql")
    assert code == 0, out
    assert "matches the log" in out

    table = POSITIONS
    with projection.engine.begin() as connection:
        key = connection.execute(select(table.c.account, table.c.strategy, table.c.symbol)).first()
        assert key is not None
        connection.execute(
            table.update()
            .where(table.c.symbol == key[2], table.c.strategy == key[1])
            .values(quantity=table.c.quantity - 3)
        )
    code, out = _lh("verify", "--only", "sql")
    assert code == 1
    assert "1 mismatch(es)" in out
    assert f"MISMATCH sql: position {tuple(key)}" in " ".join(out.split())
    projection.close()


def test_unknown_projection_is_a_clear_error(cli_env: str) -> None:
    code, out = _lh("status", "--only", "nosuch")
    assert code == 2
    assert "unknown projection(s) nosuch" in out
