"""One process at a time runs a run: real `lh paper` processes on one store (SQLite, Redis).

The second process refuses naming the first and records nothing; a killed holder's run is
taken over and resumed to the same result; a paused holder loses its lease and, woken up,
appends nothing more (fencing); a run that ends, fails or is stopped releases its lease.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from api.application.backtest import run_backtest
from api.application.failures import RunFailedError
from api.application.lease import RunLease, hold_run, run_lease_name
from api.application.optimize import named_run_id, run_grid
from api.application.paper import run_paper
from api.application.recorded_run import RecoveryError, read_run
from api.application.runs import BacktestConfig, build_engine, prepare_run
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.envelope import NewEvent
from domain.events.types import RunMode
from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.factory import open_event_store, sqlite_path
from infra.eventstore.leases import LeaseHeldError, LeaseLostError, open_leases
from infra.eventstore.sink import StoreSink
from infra.eventstore.writer_process import WriterProcessSink
from tests.trading.helpers import wave_bars, write_bars_csv

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "paper-lease"


@pytest.fixture(params=["sqlite", "redis"])
def store_env(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, redis_prefix: str
) -> dict[str, str]:
    """LH_* settings of one store, and a 2 s lease so that expiry is quick."""
    if request.param == "sqlite":
        store = {"LH_EVENT_STORE": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    else:
        store = {"LH_EVENT_STORE": redis_url, "LH_REDIS_KEY_PREFIX": redis_prefix}
    return store | {"LH_RUN_LEASE_SECONDS": "2"}


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    return write_bars_csv(tmp_path / "bars.csv", wave_bars(200))


def paper_args(csv_file: Path, speed: str) -> list[str]:
    return [sys.executable, "-m", "api", "paper", "--data", str(csv_file), "--strategy",
            "sma_cross", "--param", "fast=5", "--param", "slow=20", "--run-id", RUN_ID,
            "--speed", speed, "--json"]  # fmt: skip


def environment(store_env: dict[str, str]) -> dict[str, str]:
    return os.environ | store_env | {"PYTHONPATH": str(ROOT)}


def start_paper(csv_file: Path, store_env: dict[str, str], speed: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        paper_args(csv_file, speed),
        cwd=ROOT,
        env=environment(store_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_paper_cli(
    csv_file: Path, store_env: dict[str, str], speed: str = "0"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        paper_args(csv_file, speed),
        check=False,
        cwd=ROOT,
        env=environment(store_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def event_types(store_env: dict[str, str]) -> Counter[str]:
    store = open_event_store(
        store_env["LH_EVENT_STORE"], key_prefix=store_env.get("LH_REDIS_KEY_PREFIX", "lh")
    )
    try:
        return Counter(e.event_type for e in store.read_all())
    finally:
        store.close()


def head(store_env: dict[str, str]) -> int:
    return sum(event_types(store_env).values())


@pytest.fixture
def running(csv_file: Path, store_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A slow `lh paper` (0.1 s per bar time) that has recorded a few bars."""
    child = start_paper(csv_file, store_env, "600")
    try:
        deadline = time.monotonic() + 60
        while head(store_env) < 10 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert child.poll() is None, child.communicate()
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def reference_equity(csv_file: Path, tmp_path: Path) -> str:
    """The final equity of the same run, uninterrupted, in a store of its own."""
    alone = {"LH_EVENT_STORE": f"sqlite:///{tmp_path / 'reference.sqlite'}"}
    done = run_paper_cli(csv_file, alone)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["final_equity"])


def test_second_process_refuses_naming_the_holder_and_records_nothing(
    csv_file: Path, store_env: dict[str, str], running: subprocess.Popen[str]
) -> None:
    second = run_paper_cli(csv_file, store_env)
    assert second.returncode == 2, second.stderr
    [line] = second.stderr.strip().splitlines()
    assert f"run {RUN_ID} is held by another process: pid {running.pid} on host" in line
    assert "since" in line and "lease expires" in line and "Traceback" not in second.stderr
    assert second.stdout == ""
    running.kill()
    running.wait()
    recorded = event_types(store_env)
    assert recorded["StrategyRunStarted"] == 1
    assert recorded["ReconciliationCompleted"] == 0  # the second never resumed the run


def test_killed_holder_is_taken_over_and_the_run_resumes_to_the_same_result(
    csv_file: Path, store_env: dict[str, str], running: subprocess.Popen[str], tmp_path: Path
) -> None:
    os.kill(running.pid, signal.SIGKILL)
    running.wait()
    time.sleep(2.5)  # the lease expires (the dead holder is also recognised at once)
    resumed = run_paper_cli(csv_file, store_env)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert not result["already_recorded"]
    assert result["final_equity"] == reference_equity(csv_file, tmp_path)
    recorded = event_types(store_env)
    assert recorded["StrategyRunStarted"] == 1 and recorded["ReconciliationCompleted"] == 1
    again = run_paper_cli(csv_file, store_env)  # released at the end: reported at once
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_recorded"]


def test_paused_holder_loses_its_lease_and_appends_nothing_when_woken(
    csv_file: Path, store_env: dict[str, str], running: subprocess.Popen[str], tmp_path: Path
) -> None:
    pause_outside_a_write(running, store_env)
    try:
        time.sleep(2.5)  # past the lease's expiry: nobody renewed it
        taken = run_paper_cli(csv_file, store_env)
        assert taken.returncode == 0, taken.stderr
        assert json.loads(taken.stdout)["final_equity"] == reference_equity(csv_file, tmp_path)
        finished = head(store_env)
    finally:
        os.kill(running.pid, signal.SIGCONT)
    _, stderr = running.communicate(timeout=60)
    assert running.returncode == 1, stderr
    [line] = stderr.strip().splitlines()
    assert f"run {RUN_ID} lost its lease" in line
    assert head(store_env) == finished


def pause_outside_a_write(child: subprocess.Popen[str], store_env: dict[str, str]) -> None:
    """SIGSTOP ``child`` at an instant it holds no SQLite write lock.

    A process stopped inside a write transaction keeps the file locked for everyone (SQLite's
    own rule, whatever the lease says: the next writer gives up with "is locked"); this test is
    about the lease, so it stops the holder between two writes, as a pause usually finds it.
    """
    url = store_env["LH_EVENT_STORE"]
    for _ in range(200):
        os.kill(child.pid, signal.SIGSTOP)
        if not url.startswith("sqlite"):
            return
        probe = sqlite3.connect(sqlite_path(url), timeout=0.2, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.kill(child.pid, signal.SIGCONT)
            time.sleep(0.01)
        finally:
            probe.close()
    pytest.fail("the holder held the SQLite write lock at every attempt to pause it")


def lease_recorded(url: str, key_prefix: str = "lh", run_id: str = RUN_ID) -> bool:
    """Whether the store still holds a lease record for the run (read raw, not by the port)."""
    name = run_lease_name(run_id)
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        try:
            return bool(client.exists(f"{key_prefix}:lianghua:lease:{name}"))
        finally:
            client.close()
    with closing(sqlite3.connect(sqlite_path(url))) as db:
        row = db.execute("SELECT COUNT(*) FROM lh_run_leases WHERE name = ?", (name,)).fetchone()
    return bool(row[0])


def test_a_normal_end_releases_the_lease(csv_file: Path, store_env: dict[str, str]) -> None:
    first = run_paper_cli(csv_file, store_env)
    assert first.returncode == 0, first.stderr
    url, prefix = store_env["LH_EVENT_STORE"], store_env.get("LH_REDIS_KEY_PREFIX", "lh")
    assert not lease_recorded(url, prefix)
    again = run_paper_cli(csv_file, store_env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["already_recorded"]
    assert not lease_recorded(url, prefix)


# --- in one process: release on every way out, fencing of both sinks ---------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


FAILING = """
from domain.strategy import Strategy


class Fragile(Strategy):
    def on_bar(self, bar) -> None:
        raise ValueError("broken on purpose")
"""


def config(run_id: str = RUN_ID, strategy: str = "sma_cross") -> BacktestConfig:
    params = {"fast": "5", "slow": "20"} if strategy == "sma_cross" else {}
    return BacktestConfig(
        bars={"BTC": wave_bars(200)}, strategy=strategy, params=params, run_id=run_id
    )


def test_lease_is_released_after_end_stop_and_failure_in_the_same_process(
    url: str, tmp_path: Path
) -> None:
    """The same pid asks again each time: only a released lease lets it in."""
    store = open_event_store(url)
    try:
        run_backtest(config(), store)
        assert not lease_recorded(url)
        assert run_backtest(config(), store).already_recorded

        def stop(done: int, _total: int) -> None:
            if done == 50:
                raise KeyboardInterrupt

        run_paper(config("paper-stopped"), store, speed=0, progress=stop)  # Ctrl-C
        assert not lease_recorded(url, run_id="paper-stopped")
        assert run_paper(config("paper-stopped"), store, speed=0).already_recorded

        strategy_file = tmp_path / "fragile.py"
        strategy_file.write_text(FAILING)
        failing = config("fails", f"{strategy_file}:Fragile")
        with pytest.raises(RunFailedError):
            run_backtest(failing, store)
        assert not lease_recorded(url, run_id="fails")
        with pytest.raises(RecoveryError):  # closed by RunFailed, not held by a lease
            run_backtest(failing, store)
    finally:
        store.close()


def test_a_sink_whose_lease_was_taken_over_appends_nothing(url: str) -> None:
    store = open_event_store(url)
    try:
        with hold_run(store, RUN_ID) as held:
            thief = open_leases(url)
            with pytest.raises(LeaseHeldError):
                thief.acquire(run_lease_name(RUN_ID), 1_000)
            store_sink = StoreSink(store, guard=held.check)
            thief_store = open_leases(url)
            held.leases.release(held.lease)  # as if it had expired
            stolen = thief_store.acquire(run_lease_name(RUN_ID), 60_000)
            before = store.head()
            with pytest.raises(LeaseLostError):
                store_sink.append(events_of())
            writer = WriterProcessSink(url, lease=held.lease)
            with pytest.raises(LeaseLostError):
                writer.append(events_of())
                writer.close()
            assert store.head() == before
            thief_store.release(stolen)
    finally:
        store.close()


def test_a_stalled_run_loop_stops_renewing_and_loses_the_lease(url: str) -> None:
    leases = open_leases(url)
    lease = leases.acquire(run_lease_name(RUN_ID), 1_000)
    held = RunLease(leases, lease, 1.0, stall_seconds=0.5)
    try:
        time.sleep(2.0)  # no beat: the renewer lets the lease run out
        with pytest.raises(LeaseLostError):
            held.check()
    finally:
        held.release()


def events_of() -> list[NewEvent]:
    """The first events of a run (what a holder that lost its lease would append next)."""
    prepared = prepare_run(config(), RunMode.BACKTEST)
    sink = CollectingSink()
    engine = build_engine(prepared, sink, SimulatedClock(), flush_every=1)
    engine.start(prepared.groups[0][0].time_us)
    engine.process(prepared.groups[0])
    engine.journal.flush()
    return list(sink.events)


def test_a_grid_point_held_by_another_process_is_reported_not_recorded(url: str) -> None:
    """`lh optimize` records each grid run under its lease, like `lh backtest` does."""
    base = BacktestConfig(bars={"BTC": wave_bars(200)}, strategy="sma_cross", params={"slow": "20"})
    held_id = named_run_id(replace(base, params={"fast": "5", "slow": "20"}), "sweep")
    store = open_event_store(url)
    try:
        with hold_run(store, held_id):
            runs = run_grid(base, {"fast": ["5", "7"]}, store, jobs=1, name="sweep")
        by_fast = {run.params["fast"]: run for run in runs}
        assert by_fast["5"].result is None
        assert f"run {held_id} is held by another process" in by_fast["5"].error
        assert by_fast["7"].result is not None and not by_fast["7"].result.already_recorded
        assert read_run(store, held_id) is None  # nothing of the held run was recorded
    finally:
        store.close()


def test_a_version_conflict_ends_in_one_line(
    csv_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a holder paused between its lease check and its append meets (the window the
    lease cannot close, docs/architecture.md): one line and exit 1, not a traceback."""
    from typer.testing import CliRunner

    from api.application import paper
    from api.cli import app

    def conflicting(*_args: object, **_kwargs: object) -> object:
        raise StreamVersionConflictError(f"run-{RUN_ID}", 7)

    monkeypatch.setattr(paper, "run_paper", conflicting)  # `lh paper` imports it when run
    result = CliRunner().invoke(app, paper_args(csv_file, "0")[3:])
    assert result.exit_code == 1, result.output
    [line] = result.stderr.strip().splitlines()
    assert "another process recorded into this run at the same time" in line
    assert "run the same command again" in line


def test_any_command_meeting_a_held_run_says_so_in_one_line(url: str) -> None:
    """`lh demo` records a backtest too: the shared guard names the holder, never a traceback."""
    from api.cli.failures import describe_failure

    leases = open_leases(url)
    lease = leases.acquire(run_lease_name(RUN_ID), 60_000)
    try:
        with pytest.raises(LeaseHeldError) as held:
            open_leases(url).acquire(run_lease_name(RUN_ID), 60_000)
        line = describe_failure(held.value, [])
        assert line is not None and f"run {RUN_ID} is held by another process" in line
    finally:
        leases.release(lease)
