"""`lh backtest`, `lh optimize` and `lh paper` through typer's CliRunner, on a tiny CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.cli import trading
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.trading.helpers import wave_bars, write_bars_csv

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    trading.register(app)
    return app


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    bars = [*wave_bars(200, "BTC", 100.0), *wave_bars(200, "ETH", 50.0)]
    return write_bars_csv(tmp_path / "bars.csv", bars)


def store_head() -> int:
    url = load_settings().event_store
    store = open_event_store(url)
    try:
        return store.head()
    finally:
        store.close()


def test_backtest_json_prints_one_object_and_records_the_run(
    app: typer.Typer, csv_file: Path
) -> None:
    args = [
        "backtest",
        "--data",
        str(csv_file),
        "--strategy",
        "sma_cross",
        "--symbol",
        "BTC",
        "--param",
        "fast=5",
        "--param",
        "slow=15",
        "--slippage-bps",
        "2",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert {"run_id", "final_equity", "events", "metrics", "trades"} <= set(output)
    assert len(output["metrics"]) >= 15
    assert output["trades"], "the wave should produce round trips"
    trade = output["trades"][0]
    assert {"entry_time", "entry_price", "exit_time", "exit_price", "qty", "pnl"} <= set(trade)
    assert trade["entry_time"].endswith("Z") and isinstance(trade["pnl"], str)
    assert store_head() == output["events"] == output["last_position"]
    again = json.loads(runner.invoke(app, args).stdout)
    assert again["already_recorded"] and again["final_equity"] == output["final_equity"]
    assert store_head() == output["events"]


def test_backtest_human_summary(app: typer.Typer, csv_file: Path) -> None:
    result = runner.invoke(app, ["backtest", "--data", str(csv_file), "--strategy", "momentum"])
    assert result.exit_code == 0, result.output
    assert "sharpe" in result.stdout and "recorded" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--param", "fast=x"], "fast='x' is not a valid int"),
        (["--strategy", "sma_cross", "--symbol", "XRP"], "XRP"),
        (["--strategy", "sma_cross", "--cash", "lots"], "--cash must be a number"),
        (["--strategy", "sma_cross", "--limit", "max_position=-1"], "risk limit max_position"),
        (["--strategy", "sma_cross", "--valuation-interval", "1w"], "--valuation-interval"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_records_nothing(
    app: typer.Typer, csv_file: Path, extra: list[str], message: str
) -> None:
    result = runner.invoke(app, ["backtest", "--data", str(csv_file), *extra])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert store_head() == 0


def test_valuation_interval_sets_how_often_the_book_is_valued(
    app: typer.Typer, csv_file: Path
) -> None:
    def valuations(interval: str) -> int:
        args = ["backtest", "--data", str(csv_file), "--strategy", "sma_cross", "--symbol", "BTC"]
        result = runner.invoke(app, [*args, "--valuation-interval", interval, "--json"])
        assert result.exit_code == 0, result.output
        store = open_event_store(load_settings().event_store)
        try:
            run = f"run-{json.loads(result.stdout)['run_id']}"
            return sum(e.event_type == "PortfolioValued" for e in store.read_stream(run))
        finally:
            store.close()

    assert valuations("1m") == 200 + 1  # every bar, and once at the end
    assert valuations("1h") < valuations("1m") // 2


def test_missing_file(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["backtest", "--data", str(tmp_path / "no.csv"), "--strategy", "sma_cross"]
    )
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_optimize_runs_the_grid_in_processes_and_ranks(app: typer.Typer, csv_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "optimize",
            "--data",
            str(csv_file),
            "--strategy",
            "sma_cross",
            "--symbol",
            "BTC",
            "--grid",
            "fast=3,5",
            "--grid",
            "slow=5,20",
            "--jobs",
            "2",
            "--rank-by",
            "total_return",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert len(runs) == 4
    skipped = [r for r in runs if "error" in r]
    assert [r["params"] for r in skipped] == [{"fast": "5", "slow": "5"}]
    ok = [r for r in runs if "error" not in r]
    returns = [r["metrics"]["total_return"] for r in ok]
    assert returns == sorted(returns, reverse=True)
    assert len({r["run_id"] for r in ok}) == 3
    assert store_head() == sum(r["events"] for r in ok)
    table = runner.invoke(
        app,
        [
            "optimize",
            "--data",
            str(csv_file),
            "--strategy",
            "sma_cross",
            "--symbol",
            "BTC",
            "--grid",
            "fast=3,5",
            "--grid",
            "slow=20",
            "--jobs",
            "1",
        ],
    )
    assert table.exit_code == 0 and "ranked by sharpe" in table.stdout


def test_paper_at_full_speed(app: typer.Typer, csv_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "paper",
            "--data",
            str(csv_file),
            "--strategy",
            "sma_cross",
            "--speed",
            "0",
            "--param",
            "fast=5",
            "--param",
            "slow=15",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["run_id"].startswith("paper-") and store_head() == output["events"]


def test_risk_limits_come_from_the_config_file_and_limit_options(
    app: typer.Typer, csv_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text('[risk]\nmax_order_quantity = "5"\nrestricted_symbols = ["ETH"]\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    args = [
        "backtest",
        "--data",
        str(csv_file),
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=15",
        "--param",
        "size=6",
        "--limit",
        "max_order_notional=900",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trades"] == []
    store = open_event_store(load_settings().event_store)
    decisions = [e.data for e in store.read_all() if e.event_type == "RiskDecisionMade"]
    store.close()
    assert decisions and not any(d["approved"] for d in decisions)
    limits = {r["rule"]: r["limit"] for r in decisions[0]["rules"]}
    assert limits["max_order_quantity"] == "5" and limits["max_order_notional"] == "900"
    assert limits["restricted_symbol"] == "ETH"
    config.write_text("[risk]\nmax_banana = 1\n")
    bad = runner.invoke(app, args)
    assert bad.exit_code == 2 and "max_banana" in bad.stderr
