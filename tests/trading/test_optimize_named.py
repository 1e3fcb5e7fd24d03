"""`lh optimize --run NAME`: the grid's runs are told apart from other optimizations, and a
rerun of the same named optimization is recognised as recorded."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from adapters.marketdata.sample import SAMPLE_CSV
from api.cli import app


def optimize(bars: Path, *extra: str) -> list[dict[str, object]]:
    args = ["optimize", "--data", str(bars), "--strategy", "sma_cross", "--symbol", "BTCUSDT"]
    result = CliRunner().invoke(app, [*args, "--grid", "fast=5,10", "--jobs", "1", *extra])
    assert result.exit_code == 0, result.output
    runs: list[dict[str, object]] = json.loads(result.stdout)["runs"]
    return runs


def test_named_optimizations_get_their_own_run_ids(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:801]) + "\n")
    unnamed = optimize(bars, "--json")
    named = optimize(bars, "--run", "sweep-a", "--json")
    assert all(str(run["run_id"]).startswith("bt-") for run in unnamed)
    assert all(str(run["run_id"]).startswith("sweep-a-") for run in named)
    assert {run["final_equity"] for run in named} == {run["final_equity"] for run in unnamed}
    again = optimize(bars, "--run", "sweep-a", "--json")
    assert [run["run_id"] for run in again] == [run["run_id"] for run in named]
    assert all(run["already_recorded"] for run in again)


def test_a_run_name_that_cannot_be_an_id_is_refused(tmp_path: Path) -> None:
    args = ["optimize", "--data", str(SAMPLE_CSV), "--strategy", "sma_cross"]
    result = CliRunner().invoke(app, [*args, "--grid", "fast=5", "--run", "my sweep"])
    assert result.exit_code == 2
    assert "--run 'my sweep'" in result.stderr
