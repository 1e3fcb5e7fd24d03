"""A run that cannot go on ends with RunFailed: the strategy's error closes it, a dead writer
interrupts it (the same command resumes it); one clear message, exit 1, never a framework
traceback."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from api.application import backtest as backtest_module
from api.application.backtest import run_backtest
from api.application.failures import RunFailedError
from api.application.recorded_run import RecoveryError
from api.application.runs import BacktestConfig
from api.cli import trading
from domain.events.catalog import RunFailed
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from projections.clickhouse.projection import ClickHouseProjection
from projections.queries import current_state as queries
from projections.sql.projection import SqlProjection
from tests.trading.helpers import wave_bars, write_bars_csv

runner = CliRunner()
FAILING = """
from decimal import Decimal

from domain.strategy import Strategy


def ratio(seen: int) -> float:
    return 1 / (seen - 40)


class Fragile(Strategy):
    def on_start(self) -> None:
        self.seen = 0

    def on_bar(self, bar) -> None:
        self.seen += 1
        if self.seen == 40:
            self.buy(bar.symbol, Decimal(1), reason="just before")
        ratio(self.seen)
"""


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    trading.register(app)
    return app


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write_bars_csv(tmp_path / "bars.csv", wave_bars(120))


def recorded() -> list[RecordedEvent]:
    store = open_event_store(load_settings().event_store)
    try:
        return list(store.read_all(verify=True))
    finally:
        store.close()


def test_a_strategy_error_is_recorded_printed_as_its_own_and_closes_the_run(
    app: typer.Typer, csv_file: Path, tmp_path: Path
) -> None:
    strategy = tmp_path / "fragile.py"
    strategy.write_text(FAILING)
    args = ["backtest", "--data", str(csv_file), "--strategy", f"{strategy}:Fragile"]
    failed = runner.invoke(app, args)
    assert failed.exit_code == 1
    output = failed.output
    assert "ZeroDivisionError: division by zero" in output
    assert f'File "{strategy}", line 19, in on_bar' in output
    assert f'File "{strategy}", line 8, in ratio' in output
    assert "domain/engine" not in output and "api/application" not in output
    assert "Traceback (most recent call last)" not in output
    assert "recorded as RunFailed" in output

    events = recorded()
    assert events[-1].event_type == "RunFailed"
    failure = events[-1].payload
    assert isinstance(failure, RunFailed) and not failure.resumable
    assert (failure.error_type, failure.message) == ("ZeroDivisionError", "division by zero")
    assert [frame.splitlines()[0].strip() for frame in failure.frames] == [
        f'File "{strategy}", line 19, in on_bar',
        f'File "{strategy}", line 8, in ratio',
    ]
    # The order placed just before the error is canceled as the run ends, after its facts.
    kinds = [e.event_type for e in events]
    assert kinds.index("OrderSubmitted") < kinds.index("OrderCanceled") < kinds.index("RunFailed")

    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "failed (ZeroDivisionError: division by zero) and is closed" in again.output
    assert "--run-id" in again.output and "Traceback" not in again.output
    assert len(recorded()) == len(events)


@pytest.fixture(params=["sqlite", "mysql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "mysql":
        return str(request.getfixturevalue("mysql_url"))
    return f"sqlite:///{tmp_path / 'read.sqlite'}"


def test_a_failed_run_is_failed_in_the_read_models(
    tmp_path: Path, csv_file: Path, sql_url: str
) -> None:
    from adapters.marketdata import load_bars

    strategy = tmp_path / "fragile.py"
    strategy.write_text(FAILING)
    config = BacktestConfig(
        bars=dict(load_bars(csv_file)), strategy=f"{strategy}:Fragile", params={}
    )
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    store = open_event_store(url)
    with pytest.raises(RunFailedError) as raised:
        run_backtest(config, store)
    events = list(store.read_all())
    store.close()
    run_id = raised.value.run_id

    sql = SqlProjection.open(sql_url)
    sql.apply(events)
    [run] = queries.strategy_runs(sql.engine)
    assert (run["run_id"], run["status"]) == (run_id, "FAILED")
    assert run["stop_reason"] == "ZeroDivisionError: division by zero"
    sql.close()

    clickhouse = ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    try:
        clickhouse.apply(events)
        rows = clickhouse.client.query(
            "SELECT kind, run_id, reason FROM runs FINAL ORDER BY position"
        ).result_rows
    finally:
        clickhouse.close()
    assert [tuple(r) for r in rows][-1] == (
        "RunFailed",
        run_id,
        "ZeroDivisionError: division by zero",
    )


def _kill_writer_at(bar_times: int, url: str) -> tuple[list[int], object]:
    """A progress callback that SIGKILLs this process's writer process once ``bar_times``
    are done and it has recorded something (and waits until it is gone)."""
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if killed or done < bar_times:
            return
        watcher = open_event_store(url)
        while watcher.head() == 0:
            time.sleep(0.01)
        watcher.close()
        me = os.getpid()
        for child in Path(f"/proc/{me}/task/{me}/children").read_text().split():
            if "writer_process" in Path(f"/proc/{child}/cmdline").read_text():
                os.kill(int(child), signal.SIGKILL)
                killed.append(int(child))
                while "State:\tZ" not in Path(f"/proc/{child}/status").read_text():
                    time.sleep(0.01)

    return killed, progress


def payloads(events: list[RecordedEvent]) -> list[tuple[str, str]]:
    return [(e.event_id, e.payload_hash) for e in events if e.event_type != "RunFailed"]


def test_a_dead_writer_interrupts_the_run_and_the_same_command_resumes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backtest_module, "WRITER_MIN_BAR_TIMES", 500)
    monkeypatch.setattr(backtest_module, "FLUSH_EVENTS", 200)
    config = BacktestConfig(
        bars={"BTC": wave_bars(3_000)}, strategy="sma_cross", params={"fast": "3", "slow": "8"}
    )
    clean = open_event_store(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    expected = run_backtest(config, clean)
    expected_events = list(clean.read_all())
    clean.close()

    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    store = open_event_store(url)
    killed, progress = _kill_writer_at(1_500, url)
    with pytest.raises(RunFailedError) as raised:
        run_backtest(config, store, progress=progress)  # type: ignore[arg-type]
    assert killed
    interrupted = raised.value
    assert interrupted.recorded and interrupted.failure.resumable
    assert interrupted.failure.error_type == "WriterProcessError"
    partial = list(store.read_all(verify=True))
    assert partial[-1].event_type == "RunFailed"
    assert 0 < len(partial) - 1 < len(expected_events)
    sql = SqlProjection.open(f"sqlite:///{tmp_path / 'read.sqlite'}")
    sql.apply(partial)
    [run] = queries.strategy_runs(sql.engine)
    assert run["status"] == "INTERRUPTED" and run["stop_reason"].startswith("WriterProcessError")

    resumed = run_backtest(config, store)
    events = list(store.read_all(verify=True))
    store.close()
    rest = events[len(partial) :]
    valued = next(i for i, e in enumerate(rest) if e.event_type == "PortfolioValued")
    sql.apply(rest[: valued + 1])
    [run] = queries.strategy_runs(sql.engine)
    assert (run["status"], run["stop_reason"]) == ("RUNNING", None)  # valued again: resumed
    sql.apply(rest[valued + 1 :])
    [run] = queries.strategy_runs(sql.engine)
    sql.close()
    assert (run["status"], run["stop_reason"]) == ("STOPPED", "data exhausted")
    assert not resumed.already_recorded
    assert resumed.final_equity == expected.final_equity and resumed.trades == expected.trades
    assert Counter(e.event_type for e in events)["RunFailed"] == 1
    # Everything but the interruption is the clean run's log (ids shift by the one event).
    assert [h for _, h in payloads(events)] == [h for _, h in payloads(expected_events)]
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    again = run_backtest(config, store)
    store.close()
    assert again.already_recorded and again.final_equity == expected.final_equity


def test_an_interruption_is_one_line_and_exit_1(
    app: typer.Typer, csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backtest_module, "WRITER_MIN_BAR_TIMES", 10)
    monkeypatch.setattr(backtest_module, "FLUSH_EVENTS", 5)
    killed, progress = _kill_writer_at(60, load_settings().event_store)
    real = trading.run_backtest

    def with_killer(config: BacktestConfig, store: object, **_: object) -> object:
        return real(config, store, progress=progress)  # type: ignore[arg-type]

    monkeypatch.setattr(trading, "run_backtest", with_killer)
    args = ["backtest", "--data", str(csv_file), "--strategy", "sma_cross", "--json"]
    args += ["--param", "fast=3", "--param", "slow=8"]
    interrupted = runner.invoke(app, args)
    assert killed and interrupted.exit_code == 1
    [line] = interrupted.output.strip().splitlines()
    assert "was interrupted (WriterProcessError" in line and "recorded as RunFailed" in line
    assert "Run the same command again to resume" in line
    monkeypatch.setattr(trading, "run_backtest", real)
    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["already_recorded"] is False


def test_recovery_error_is_the_base_of_a_closed_run() -> None:
    from api.application.recorded_run import RunClosedError

    assert issubclass(RunClosedError, RecoveryError)


def test_an_optimize_grid_point_whose_strategy_fails_is_skipped_and_not_recorded(
    tmp_path: Path, csv_file: Path
) -> None:
    from adapters.marketdata import load_bars
    from api.application.optimize import run_grid

    strategy = tmp_path / "fails_at.py"
    strategy.write_text(FAILS_AT)
    base = BacktestConfig(bars=dict(load_bars(csv_file)), strategy=f"{strategy}:FailsAt", params={})
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    runs = run_grid(base, {"at": ["30", "1000"]}, store, jobs=1)
    events = list(store.read_all())
    store.close()
    by_at = {run.params["at"]: run for run in runs}
    assert by_at["30"].result is None
    assert by_at["30"].error == "strategy failed in on_bar: ValueError: bar 30"
    finished = by_at["1000"].result
    assert finished is not None and len(events) == finished.events
    assert {e.correlation_id for e in events} == {finished.run_id}


FAILS_AT = """
from domain.strategy import Strategy
from domain.strategy.params import Param


class FailsAt(Strategy):
    parameters = {"at": Param(int, 40, minimum=1, help="bar to fail at")}

    def on_start(self) -> None:
        self.seen = 0

    def on_bar(self, bar) -> None:
        self.seen += 1
        if self.seen == self.params["at"]:
            raise ValueError(f"bar {self.seen}")
"""


@pytest.mark.crash
@pytest.mark.services
def test_a_store_gone_mid_run_interrupts_it_and_the_same_command_resumes_it(
    tmp_path: Path,
) -> None:
    from api.application.paper import run_paper
    from tests.services import redis_with_aof

    config = BacktestConfig(
        bars={"BTC": wave_bars(300)}, strategy="sma_cross", params={"fast": "3", "slow": "8"}
    )
    clean = open_event_store(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    expected = run_paper(config, clean, speed=0)
    clean.close()
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_with_aof(directory) as server:
        store = open_event_store(server.url)

        def kill_redis_at_bar_150(done: int, total: int) -> None:
            if done == 150:
                server.kill()

        with pytest.raises(RunFailedError) as raised:
            run_paper(config, store, speed=0, progress=kill_redis_at_bar_150)
        interrupted = raised.value
        assert interrupted.failure.resumable and not interrupted.recorded
        assert "not reachable" in interrupted.failure.message
        store.close()

        server.start()  # the same port and AOF: every acknowledged event is back
        store = open_event_store(server.url)
        resumed = run_paper(config, store, speed=0)
        kinds = Counter(e.event_type for e in store.read_all(verify=True))
        store.close()
    assert not resumed.already_recorded
    assert resumed.final_equity == expected.final_equity and resumed.trades == expected.trades
    assert kinds["RunFailed"] == 0 and kinds["StrategyRunStarted"] == 1


def test_a_paper_run_whose_strategy_fails_is_closed(tmp_path: Path, csv_file: Path) -> None:
    from adapters.marketdata import load_bars
    from api.application.paper import run_paper
    from api.application.recorded_run import RunClosedError

    strategy = tmp_path / "fragile.py"
    strategy.write_text(FAILING)
    config = BacktestConfig(
        bars=dict(load_bars(csv_file)), strategy=f"{strategy}:Fragile", params={}
    )
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    with pytest.raises(RunFailedError) as raised:
        run_paper(config, store, speed=0)
    assert raised.value.hook == "on_bar" and raised.value.recorded
    head = store.head()
    with pytest.raises(RunClosedError, match="ZeroDivisionError: division by zero"):
        run_paper(config, store, speed=0)
    events = list(store.read_all())
    store.close()
    assert len(events) == head and events[-1].event_type == "RunFailed"
