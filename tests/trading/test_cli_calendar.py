"""The command line on exchange-calendar bars: weekends and holidays are summarized once on
stderr and the run goes on; holes are refused naming ``--allow-gaps``; the periods a year used
for the statistics are printed, inferred or given by ``--periods-per-year``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli import trading
from tests.marketdata.calendars import daily_stock_file, intraday_stock_file
from tests.trading.test_cli import store_head

runner = CliRunner()
RUN = ["--strategy", "sma_cross", "--param", "fast=5", "--param", "slow=20", "--param", "size=300"]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    trading.register(app)
    return app


@pytest.fixture
def stock(tmp_path: Path) -> Path:
    return daily_stock_file(tmp_path / "aapl.csv")


def test_daily_stock_bars_run_with_a_calendar_summary_and_252_periods(
    app: typer.Typer, stock: Path
) -> None:
    result = runner.invoke(app, ["backtest", "--data", str(stock), *RUN, "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("102 weekend days and 8 weekday holidays") == 1
    metrics = json.loads(result.stdout)["metrics"]
    assert (metrics["periods_per_year"], metrics["periods_per_year_source"]) == (252, "inferred")
    again = runner.invoke(
        app, ["backtest", "--data", str(stock), *RUN, "--periods-per-year", "365", "--json"]
    )
    assert again.exit_code == 0, again.output
    output = json.loads(again.stdout)
    assert output["already_recorded"]  # the periods are not part of the run's identity
    given = output["metrics"]
    assert (given["periods_per_year"], given["periods_per_year_source"]) == (365, "given")
    assert given["sharpe"] / metrics["sharpe"] == pytest.approx(math.sqrt(365 / 252))


def test_the_summary_table_says_which_periods_were_used(app: typer.Typer, stock: Path) -> None:
    result = runner.invoke(app, ["backtest", "--data", str(stock), *RUN])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "periods_per_year" in line]
    assert len(rows) == 2 and "252" in rows[0] and "inferred" in rows[1]


def test_a_hole_inside_a_session_is_refused_naming_the_flag(
    app: typer.Typer, tmp_path: Path
) -> None:
    path = intraday_stock_file(tmp_path / "msft.csv", skip=400)
    result = runner.invoke(app, ["backtest", "--data", str(path), *RUN])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "1 gap(s) in the bars: MSFT row 401" in line
    assert line.endswith("(rerun with --allow-gaps to load anyway)")
    assert "allow_gaps=True" not in line and store_head() == 0
    allowed = runner.invoke(app, ["backtest", "--data", str(path), *RUN, "--allow-gaps"])
    assert allowed.exit_code == 0, allowed.output


@pytest.mark.parametrize("value", ["0", "367", "many"])
def test_periods_per_year_out_of_range_is_bad_input(
    app: typer.Typer, stock: Path, value: str
) -> None:
    result = runner.invoke(
        app, ["backtest", "--data", str(stock), *RUN, "--periods-per-year", value]
    )
    assert result.exit_code == 2 and "--periods-per-year" in result.stderr
    assert store_head() == 0


def test_paper_and_optimize_take_periods_per_year(app: typer.Typer, stock: Path) -> None:
    given = ["--periods-per-year", "260", "--json"]
    paper = runner.invoke(app, ["paper", "--data", str(stock), *RUN, "--speed", "0", *given])
    assert paper.exit_code == 0, paper.output
    metrics = json.loads(paper.stdout)["metrics"]
    assert (metrics["periods_per_year"], metrics["periods_per_year_source"]) == (260, "given")
    optimize = runner.invoke(
        app,
        ["optimize", "--data", str(stock), *RUN[:2], *RUN[4:], "--grid", "fast=3,5", "--json"],
    )
    assert optimize.exit_code == 0, optimize.output
    runs = json.loads(optimize.stdout)["runs"]
    assert [run["metrics"]["periods_per_year"] for run in runs] == [252, 252]


def test_the_optimize_table_says_which_periods_were_used(app: typer.Typer, stock: Path) -> None:
    result = runner.invoke(
        app,
        ["optimize", "--data", str(stock), *RUN[:2], *RUN[4:], "--grid", "fast=3,5", "--jobs", "1"],
    )
    assert result.exit_code == 0, result.output
    assert "annualized with 252 periods a year (inferred)" in result.stdout
