"""Crash recovery: SIGKILL a real paper run mid-flight, restart it, lose and duplicate nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import run_backtest
from api.application.commands import (
    ChangeRiskLimit,
    Command,
    EngageKillSwitch,
    ReleaseKillSwitch,
    SetTradingState,
)
from api.application.control import find_run, request_command
from api.application.paper import WallClock, run_paper
from api.application.recovery import read_run, resume_engine
from api.application.runs import BacktestConfig, BacktestResult, prepare_run
from domain.events.catalog import (
    OperatorCommandRequested,
    ReconciliationCompleted,
    StrategyRunStarted,
)
from domain.events.types import RunMode, TradingState
from infra.eventstore.factory import open_event_store
from infra.eventstore.sink import StoreSink
from infra.eventstore.store import EventStore
from tests.trading.helpers import wave_bars

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "crash-run"
CHILD = """
import sys
from infra.eventstore.factory import open_event_store
from api.application.paper import run_paper
from tests.trading.test_recovery import config
store = open_event_store(sys.argv[1])
run_paper(config(), store, speed=float(sys.argv[2]))
"""


def config() -> BacktestConfig:
    return BacktestConfig(
        bars={"BTC": wave_bars(300), "ETH": wave_bars(300, "ETH", 40.0)},
        strategy="sma_cross",
        params={"fast": "4", "slow": "12", "size": "3"},
        venue=SimulatedVenueConfig(volume_cap=Decimal("0.02")),
        run_id=RUN_ID,
    )


def bars_done(store: EventStore) -> int:
    """Bar times the log of ``RUN_ID`` covers, as a resume finds them by replay."""
    prepared = prepare_run(config(), RunMode.PAPER)
    _, recorded = resume_engine(prepared, store, StoreSink(store), WallClock(), flush_every=1)
    assert recorded is not None
    return recorded.groups_done


_DIFFER = {ReconciliationCompleted.event_type(), OperatorCommandRequested.event_type()}
"""Recorded only by a resumed run, or made with a fresh request id and wall time."""


def payloads(url: str) -> list[tuple[str, dict[str, object]]]:
    store = open_event_store(url)
    out = []
    for event in store.read_all(verify=True):
        data = {k: v for k, v in event.data.items() if k != "request_id"}  # new per request
        if event.event_type == StrategyRunStarted.event_type():
            data.pop("mode")
            data.pop("config_hash")
        if event.event_type not in _DIFFER:
            out.append((event.event_type, data))
    store.close()
    return out


@pytest.mark.crash
def test_paper_run_killed_mid_flight_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'paper.sqlite'}"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    # 1-minute bars at 3000x: 20 ms per bar time, ~6 s for the whole file.
    child = subprocess.Popen([sys.executable, str(script), url, "3000"], cwd=ROOT, env=env)
    store = open_event_store(url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if store.head() > 150:
                break
            time.sleep(0.05)
        assert child.poll() is None, "the child finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        crashed = read_run(store, RUN_ID)
        assert crashed is not None and not crashed.stopped
        assert 0 < bars_done(store) < 300

        result = run_paper(config(), store, speed=0)
        assert not result.already_recorded
        events = list(store.read_all())
        ids = [e.event_id for e in events]
        assert len(ids) == len(set(ids)) == result.events
        assert sorted(int(i.rsplit(":", 1)[1]) for i in ids) == list(range(1, len(ids) + 1))
        [reconciled] = [e for e in events if e.event_type == "ReconciliationCompleted"]
        assert reconciled.data["mismatches"] == []
        assert reconciled.data["local_open_orders"] == reconciled.data["venue_open_orders"]
        assert reconciled.data["local_open_orders"] == len(crashed.open_orders)
        assert Counter(e.event_type for e in events)["StrategyRunStarted"] == 1
        recovered = read_run(store, RUN_ID)
        assert recovered is not None and recovered.stopped and bars_done(store) == 300
    finally:
        if child.poll() is None:
            child.kill()
        store.close()

    reference = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    clean = open_event_store(reference)
    expected = run_backtest(config(), clean)
    reference_run = read_run(clean, RUN_ID)
    clean.close()
    assert reference_run is not None and reference_run.last_valuation is not None
    assert payloads(url) == payloads(reference)
    assert result.final_equity == expected.final_equity
    assert result.trades == expected.trades
    positions = recovered.book.open_positions()
    assert positions and positions == reference_run.last_valuation.positions
    assert recovered.book.cash == reference_run.last_valuation.cash


def test_resuming_a_finished_run_records_nothing(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    small = BacktestConfig(
        bars={"BTC": wave_bars(60)}, strategy="sma_cross", params={"fast": "3", "slow": "8"}
    )
    first = run_paper(small, store, speed=0)
    head = store.head()
    again = run_paper(small, store, speed=0)
    assert again.already_recorded and store.head() == head == first.events
    assert again.final_equity == first.final_equity


@pytest.mark.services
def test_backtest_into_redis_is_recorded_once_and_matches_sqlite(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    small = BacktestConfig(
        bars={"BTC": wave_bars(120)}, strategy="sma_cross", params={"fast": "3", "slow": "9"}
    )
    redis_store = open_event_store(redis_url, key_prefix=redis_prefix)
    sqlite_store = open_event_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    try:
        first = run_backtest(small, redis_store)
        again = run_backtest(small, redis_store)
        assert again.already_recorded and redis_store.head() == first.events
        run_backtest(small, sqlite_store)
        in_redis = [(e.event_id, e.payload_hash) for e in redis_store.read_all(verify=True)]
        in_sqlite = [(e.event_id, e.payload_hash) for e in sqlite_store.read_all(verify=True)]
        assert in_redis == in_sqlite and len(in_redis) == first.events
    finally:
        redis_store.close()
        sqlite_store.close()


class CrashError(Exception):
    pass


def test_operator_requests_survive_a_restart(tmp_path: Path) -> None:
    """Requests appended to the control stream while the session runs (from its progress
    callback, as another process would) are applied once each, after a crash too, and the
    crashed-and-resumed log equals the smooth one."""
    plan: dict[str, int] = {}

    def steer(store: EventStore, crash_at: int | None) -> Callable[[int, int], None]:
        sent: set[str] = set()

        def send(name: str, command: Command) -> None:
            if name not in sent:
                sent.add(name)
                request_command(store, find_run(store, RUN_ID), command)

        def on_bar(done: int, _total: int) -> None:
            if "kill" not in plan and done >= 40:
                recorded = read_run(store, RUN_ID)
                if recorded is not None and recorded.open_orders:
                    plan["kill"] = done  # the first bar time with working orders, found once
            alice = {"operator": "alice", "reason": "drill"}
            bob = {"operator": "bob", "reason": "tighten"}
            if done == plan.get("kill"):
                send("kill", EngageKillSwitch(**alice))
            elif done == plan.get("kill", -99) + 20:
                send("release", ReleaseKillSwitch(**alice))
            elif done == plan.get("kill", -99) + 30:
                send("limit", ChangeRiskLimit(name="max_order_quantity", value="2", **bob))
            elif done == 250:
                send("state", SetTradingState(state=TradingState.REDUCING, **bob))
            if done == crash_at:
                raise CrashError

        return on_bar

    smooth, crashed = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    store = open_event_store(smooth)
    expected = run_paper(config(), store, speed=0, progress=steer(store, None))
    store.close()
    assert "kill" in plan and plan["kill"] + 30 < 200
    store = open_event_store(crashed)
    with pytest.raises(CrashError):
        run_paper(config(), store, speed=0, progress=steer(store, 200))
    result = run_paper(config(), store, speed=0, progress=steer(store, None))
    store.close()
    assert result.final_equity == expected.final_equity
    recorded = payloads(crashed)
    assert recorded == payloads(smooth)
    kinds = [kind for kind, _ in recorded]
    assert {"KillSwitchEngaged", "KillSwitchReleased", "RiskLimitsChanged"} <= set(kinds)
    assert "TradingStateChanged" in kinds and "OrderCancelRequested" in kinds
    assert "OperatorCommandRejected" not in kinds
    rejected_by_limit = [
        d
        for kind, d in recorded
        if kind == "RiskDecisionMade"
        and any(r["rule"] == "max_order_quantity" and not r["passed"] for r in d["rules"])  # type: ignore[attr-defined]
    ]
    assert rejected_by_limit


@pytest.mark.parametrize("mode", ["backtest", "paper"])
@pytest.mark.parametrize("count", [100, 130, 170, 200])
def test_rerunning_a_finished_run_reports_the_recorded_run(
    tmp_path: Path, count: int, mode: str
) -> None:
    """Data that ends off a valuation boundary (hourly, on minute bars) with a position open:
    the last bar times record nothing but move the marks the final valuation used."""
    store = open_event_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    small = BacktestConfig(
        bars={"BTC": wave_bars(count)}, strategy="sma_cross", params={"fast": "3", "slow": "8"}
    )

    def run() -> BacktestResult:
        return (
            run_backtest(small, store) if mode == "backtest" else run_paper(small, store, speed=0)
        )

    first = run()
    again = run()
    store.close()
    assert again.already_recorded and again.events == first.events
    assert again.final_equity == first.final_equity
    assert again.metrics == first.metrics and again.trades == first.trades
