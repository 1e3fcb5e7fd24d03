"""A run is its data, settings and strategy code: edited code is a new run, never a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.application.paper import run_paper
from api.application.runs import BacktestConfig
from api.application.strategies import resolve_strategy
from api.cli import trading
from domain.events.catalog import StrategyRunStarted
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.trading.helpers import wave_bars, write_bars_csv

runner = CliRunner()
STRATEGY = """
from decimal import Decimal

from domain.strategy import Strategy


class Every(Strategy):
    def on_start(self) -> None:
        self.seen = 0

    def on_bar(self, bar) -> None:
        self.seen += 1
        if self.seen % {period} == 0 and self.seen < {until}:
            held = self.position(bar.symbol) + self.ctx.pending_quantity(bar.symbol)
            self.target_position(bar.symbol, Decimal(0) if held else Decimal(1), reason="turn")
"""


class RunInterruptedError(Exception):
    """Stands for the process dying after some bar times were recorded."""


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    trading.register(app)
    return app


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write_bars_csv(tmp_path / "bars.csv", wave_bars(200))


def strategy_file(tmp_path: Path, period: int, until: int = 10_000) -> Path:
    path = tmp_path / "every.py"
    path.write_text(STRATEGY.format(period=period, until=until))
    return path


def started_events() -> list[StrategyRunStarted]:
    store = open_event_store(load_settings().event_store)
    try:
        return [e.payload for e in store.read_all() if isinstance(e.payload, StrategyRunStarted)]
    finally:
        store.close()


def backtest(app: typer.Typer, csv_file: Path, spec: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["backtest", "--data", str(csv_file), "--strategy", spec, "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    output: dict[str, object] = json.loads(result.stdout)
    return output


def test_an_edited_strategy_file_is_a_new_run_with_its_source_hash_recorded(
    app: typer.Typer, csv_file: Path, tmp_path: Path
) -> None:
    path = strategy_file(tmp_path, 20)
    spec = f"{path}:Every"
    first = backtest(app, csv_file, spec)
    assert backtest(app, csv_file, spec)["already_recorded"] is True
    strategy_file(tmp_path, 30)
    edited = backtest(app, csv_file, spec)
    assert edited["run_id"] != first["run_id"] and edited["already_recorded"] is False
    hashes = [e.strategy_hash for e in started_events()]
    assert len(hashes) == 2 and len(set(hashes)) == 2 and all(len(h) == 64 for h in hashes)


def test_a_builtin_strategy_records_the_hash_of_its_module() -> None:
    import hashlib

    import domain.strategy.builtins as builtins
    from api.application.strategies import source_hash

    expected = hashlib.sha256(Path(builtins.__file__).read_bytes()).hexdigest()
    assert source_hash(resolve_strategy("sma_cross")) == expected


def test_resuming_an_interrupted_run_with_edited_code_is_refused(
    app: typer.Typer, csv_file: Path, tmp_path: Path
) -> None:
    from adapters.marketdata import load_bars

    path = strategy_file(tmp_path, 20)
    config = BacktestConfig(
        bars=dict(load_bars(csv_file)), strategy=f"{path}:Every", params={}, run_id="mine"
    )

    def die_at_bar_120(done: int, total: int) -> None:
        if done == 120:
            raise RunInterruptedError

    store = open_event_store(load_settings().event_store)
    with pytest.raises(RunInterruptedError):
        run_paper(config, store, speed=0, progress=die_at_bar_120)
    head = store.head()
    store.close()
    assert head > 0

    # The edit changes only what happens after the interruption: a replay of the recorded
    # part cannot tell, only the source hash can.
    strategy_file(tmp_path, 20, until=150)
    args = ["paper", "--data", str(csv_file), "--strategy", f"{path}:Every", "--speed", "0"]
    refused = runner.invoke(app, [*args, "--run-id", "mine", "--json"])
    assert refused.exit_code == 2
    assert "recorded with other strategy code" in refused.output
    assert "Traceback" not in refused.output
    store = open_event_store(load_settings().event_store)
    assert store.head() == head
    store.close()

    strategy_file(tmp_path, 20)
    resumed = runner.invoke(app, [*args, "--run-id", "mine", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["already_recorded"] is False


def test_a_stored_v1_run_start_reads_as_v2_with_no_strategy_hash(tmp_path: Path) -> None:
    from eventsourcing.persistence import StoredEvent

    from domain.events.codec import canonical_json, payload_hash
    from tests.eventstore.events import OPERATOR

    payload = {
        "run_id": "old",
        "strategy": "sma_cross",
        "params": {},
        "symbols": ["BTC"],
        "mode": "backtest",
        "account": "old",
        "initial_cash": "1000",
        "currency": "USD",
        "config_hash": "c" * 64,
    }
    state = {
        "actor": OPERATOR.as_dict(),
        "causation_id": None,
        "correlation_id": "old",
        "event_id": "old:1",
        "event_time_us": 1_600_000_000_000_000,
        "payload": payload,
        "payload_hash": payload_hash(payload),
        "recorded_time_us": 1_600_000_000_000_001,
        "schema_version": 1,
    }
    store = open_event_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    store.recorder.insert_events(
        [StoredEvent("run-old", 1, "StrategyRunStarted", canonical_json(state))]
    )
    (event,) = store.read_all(verify=True)
    store.close()
    assert event.stored_schema_version == 1
    assert isinstance(event.payload, StrategyRunStarted) and event.payload.strategy_hash == ""
    assert StrategyRunStarted.schema_version == 2
