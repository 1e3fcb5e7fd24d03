"""A read model that meets an event it cannot apply stops and says which, where and why; `status`
shows it failed (in another process too: the failure is recorded), and `verify` refuses a read
model that failed or is behind the head of the log."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.events.catalog import StrategyRunStarted
from domain.events.envelope import NewEvent
from domain.events.types import RunMode
from infra.eventstore.factory import open_event_store
from tests.projections.support import synthetic_batches

POISON = Decimal("1E+23")  # beyond DECIMAL(38,18): what `--cash 1e23` recorded before bounds


def _poisoned_run() -> NewEvent:
    """Written with the store directly, bypassing the command boundary and the event model's
    validation (as an old log recorded before the bounds would hold it)."""
    payload = StrategyRunStarted.model_construct(
        run_id="bt-poisoned",
        strategy="sma_cross",
        params={},
        symbols=["BTCUSDT"],
        mode=RunMode.BACKTEST,
        account="bt-poisoned",
        initial_cash=POISON,
        currency="USD",
        config_hash="0" * 64,
    )
    return NewEvent("run-bt-poisoned", 0, payload, "bt-poisoned-start", 1_700_000_000_000_000)


@pytest.fixture
def store_url(tmp_path: Path, sql_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh event store, and a fresh SQL read model on SQLite or MariaDB."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("LH_EVENT_STORE", url)
    monkeypatch.setenv("LH_SQL_URL", sql_url)
    return url


def _append(url: str, batches: list[list[NewEvent]]) -> int:
    store = open_event_store(url)
    try:
        for batch in batches:
            store.append(batch)
        return store.head()
    finally:
        store.close()


def _lh(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["projections", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_an_event_a_read_model_cannot_apply_stops_it_and_shows_it_failed(store_url: str) -> None:
    batches = synthetic_batches(3)
    good = _append(store_url, batches)
    poisoned = _append(store_url, [[_poisoned_run()]])
    assert poisoned == good + 1

    code, _out, err = _lh("run", "--only", "sql")
    assert code != 0
    line = f"read model sql cannot apply the event at position {poisoned} (StrategyRunStarted): "
    assert line in err
    why = err.split(line, 1)[1]
    assert why.startswith(("ValueError: 1E+23 does not fit DECIMAL(38, 18)", "DataError: (1264"))
    assert "initial_cash" in why or "1E+23" in why
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err

    code, out, _err = _lh("status", "--only", "sql", "--json")
    assert code == 0
    [status] = json.loads(out)["projections"]
    assert status["checkpoint"] == good  # every event before it applied, exactly once
    assert status["failed"] is not None and line in status["failed"]
    code, out, _err = _lh("status", "--only", "sql")
    assert f"failed at {poisoned}" in out

    code, out, _err = _lh("verify", "--only", "sql")
    assert code != 0
    assert f"FAILED {line}" in out


def test_verify_refuses_a_read_model_behind_the_head(store_url: str) -> None:
    batches = synthetic_batches(6)
    _append(store_url, batches[:3])
    code, out, _err = _lh("run", "--only", "sql")
    assert code == 0, out
    code, out, _err = _lh("verify", "--only", "sql")
    assert code == 0, out

    head = _append(store_url, batches[3:])
    code, out, _err = _lh("verify", "--only", "sql")
    assert code != 0
    assert f"the log at {head}" in out and "BEHIND sql" in out

    code, out, _err = _lh("run", "--only", "sql")
    assert code == 0, out
    code, out, _err = _lh("verify", "--only", "sql")
    assert code == 0, out
