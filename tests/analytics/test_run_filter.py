"""`--run`: analytics of one run, not the sum of every run of a strategy (two backtests of
sma_cross used to show twice the account's equity in pnl_by_day)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.marketdata.sample import SAMPLE_CSV
from api.cli import app


def lh(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Decimal]:
    """Two backtests of sma_cross projected into an embedded ClickHouse: run id -> equity."""
    monkeypatch.setenv("LH_CLICKHOUSE_URL", f"chdb://{tmp_path / 'analytics'}")
    bars = tmp_path / "bars.csv"
    bars.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:1201]) + "\n")
    finals: dict[str, Decimal] = {}
    for fast in ("5", "10"):
        args = ["--data", str(bars), "--strategy", "sma_cross", "--symbol", "BTCUSDT"]
        result = json.loads(lh("backtest", *args, "--param", f"fast={fast}", "--json").stdout)
        finals[result["run_id"]] = Decimal(result["final_equity"])
    lh("projections", "run", "--only", "clickhouse")
    return finals


def query(name: str, *filters: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = json.loads(
        lh("analytics", "run", name, *filters, "--format", "json").stdout
    )
    return rows


def test_pnl_by_day_of_one_run_ends_at_that_runs_equity(two_runs: dict[str, Decimal]) -> None:
    for run_id, final_equity in two_runs.items():
        rows = query("pnl_by_day", "--run", run_id)
        assert Decimal(rows[-1]["equity"]) == final_equity
        assert sum(Decimal(row["pnl"]) for row in rows) == final_equity - Decimal(100_000)
    every_run = query("pnl_by_day")
    assert Decimal(every_run[-1]["equity"]) == sum(two_runs.values())


def test_equity_curve_and_fill_rate_take_the_run(two_runs: dict[str, Decimal]) -> None:
    first, second = two_runs
    curve = query("equity_curve", "--run", first)
    assert curve and {row["run_id"] for row in curve} == {first}
    orders = {run: int(query("fill_rate", "--run", run)[0]["orders"]) for run in two_runs}
    assert sum(orders.values()) == int(query("fill_rate")[0]["orders"])
    assert orders[first] != orders[second]


def test_unknown_run_is_refused_not_shown_as_empty(two_runs: dict[str, Decimal]) -> None:
    result = CliRunner().invoke(app, ["analytics", "run", "pnl_by_day", "--run", "bt-nope"])
    assert result.exit_code == 2
    assert "--run bt-nope: no such run" in result.stderr
