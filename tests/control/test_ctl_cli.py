"""`lh ctl` refuses bad requests in one line before appending anything, finds runs, and a
session applies what was requested while it was down exactly once when it starts again."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from api.application.backtest import run_backtest
from api.application.paper import run_paper
from api.application.runs import BacktestConfig
from api.cli import app
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.control.helpers import caused_by
from tests.trading.helpers import wave_bars

WHO = ["--operator", "alice", "--reason", "drill"]


class CrashError(Exception):
    pass


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def log() -> list[RecordedEvent]:
    store = open_event_store(load_settings().event_store)
    try:
        return list(store.read_all())
    finally:
        store.close()


def config(run_id: str) -> BacktestConfig:
    return BacktestConfig(
        bars={"BTC": wave_bars(80)},
        strategy="sma_cross",
        params={"fast": "3", "slow": "8"},
        run_id=run_id,
    )


def crash_after(bars: int) -> object:
    def progress(done: int, _total: int) -> None:
        if done == bars:
            raise CrashError

    return progress


@pytest.fixture
def runs() -> None:
    """``bt`` a backtest, ``done`` a finished paper run, ``open`` one whose process died."""
    store = open_event_store(load_settings().event_store)
    try:
        run_backtest(config("bt"), store)
        run_paper(config("done"), store, speed=0)
        with pytest.raises(CrashError):
            run_paper(config("open"), store, speed=0, progress=crash_after(10))
    finally:
        store.close()


@pytest.mark.usefixtures("runs")
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["kill-switch", "engage", "--run", "nope", *WHO], "no run 'nope'"),
        (["kill-switch", "pause", "--run", "open", *WHO], "engage or release"),
        (["state", "SLEEPING", "--run", "open", *WHO], "unknown trading state"),
        (["limit", "max_leverage=2", "--run", "open", *WHO], "unknown risk limit"),
        (["limit", "max_position=-1", "--run", "open", *WHO], "max_position='-1' is invalid"),
        (["limit", "max_position=1e99", "--run", "open", *WHO], "is invalid"),
        (["limit", "max_position", "--run", "open", *WHO], "NAME=VALUE"),
        (["cancel", "x", "--run", "open", "--operator", " ", "--reason", "r"], "--operator"),
        (["state", "HALTED", "--run", "done", *WHO], "has ended"),
        (["state", "HALTED", "--run", "bt", *WHO], "is a backtest"),
        (["status", "--run", "nope"], "no run 'nope'"),
    ],
)
def test_bad_requests_are_refused_in_one_line_and_append_nothing(
    args: list[str], says: str
) -> None:
    before = len(log())
    result = invoke("ctl", *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert len(log()) == before


def test_latest_is_the_run_started_last() -> None:
    result = invoke("ctl", "status", "--run", "latest", "--json")
    assert result.exit_code == 2 and "no run yet" in result.stderr
    store = open_event_store(load_settings().event_store)
    try:
        with pytest.raises(CrashError):
            run_paper(config("first"), store, speed=0, progress=crash_after(5))
        run_backtest(config("second"), store)
    finally:
        store.close()
    result = invoke("ctl", "status", "--run", "latest", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run_id"] == "second"


def test_requests_made_while_the_session_is_down_are_applied_once_on_restart() -> None:
    """A release of a switch that is not engaged is rejected (caused by its request), the
    requests after it apply in order, and neither a second restart nor the finished run's
    rerun applies anything again."""
    store = open_event_store(load_settings().event_store)
    try:
        with pytest.raises(CrashError):
            run_paper(config("down"), store, speed=0, progress=crash_after(20))
        requested = []
        for args in (["kill-switch", "release"], ["limit", "max_position=3"],
                     ["kill-switch", "engage"], ["cancel", "down-o404"]):  # fmt: skip
            result = invoke("ctl", *args, "--run", "down", *WHO, "--json")
            assert result.exit_code == 0, result.stderr
            requested.append(json.loads(result.stdout)["request_id"])
        status = json.loads(invoke("ctl", "status", "--run", "down", "--json").stdout)
        assert [r["request_id"] for r in status["pending_requests"]] == requested
        with pytest.raises(CrashError):  # applied at the start, then down again
            run_paper(config("down"), store, speed=0, progress=crash_after(30))
        events = log()
        outcomes = [[e.event_type for e in caused_by(events, r)] for r in requested]
        applied, rejected = "OperatorCommandApplied", "OperatorCommandRejected"
        assert outcomes == [[rejected], ["RiskLimitsChanged", applied],
                            ["KillSwitchEngaged", applied], [rejected]]  # fmt: skip
        [released] = caused_by(events, requested[0])
        assert "not engaged" in released.data["error"]
        run_paper(config("down"), store, speed=0)
        assert run_paper(config("down"), store, speed=0).already_recorded
    finally:
        store.close()
    events = log()
    assert [[e.event_type for e in caused_by(events, r)] for r in requested] == outcomes
    status = json.loads(invoke("ctl", "status", "--run", "down", "--json").stdout)
    assert status["pending_requests"] == [] and status["kill_switch_engaged"]
    assert status["limits_changed"] == {"max_position": "3"}
    assert status["ended"] == "stopped: data exhausted"
