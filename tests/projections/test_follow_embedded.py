"""Embedded defaults: query while `lh projections run --follow` runs in another process.

chDB lets one process open a database; the follower holds it and answers the others' reads.
Real processes on a real var dir; every wait polls for a state with a generous timeout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.eventstore.factory import open_event_store
from projections.clickhouse.holder import holder, socket_path
from projections.runner import wait_until
from tests.projections.support import append_all, synthetic_batches

LH = "from api.cli import main; main()"
BARS = 120
WAIT = 180.0


def lh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LH, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def env(var: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LH_")}
    return clean | {"LH_VAR_DIR": str(var), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def fills(var: Path) -> int:
    """Append the first half of a synthetic log to the embedded store; the rest comes later."""
    batches = synthetic_batches(BARS)
    var.mkdir()
    store = open_event_store(f"sqlite:///{var / 'events.sqlite'}")
    append_all(store, batches[: len(batches) // 2])
    store.close()
    return sum(
        1 for batch in batches for event in batch if type(event.payload).__name__ == "FillRecorded"
    )


@pytest.fixture
def follower(env: dict[str, str], var: Path, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    output = (tmp_path / "follower.log").open("w")  # flushed line by line (PYTHONUNBUFFERED)
    child = subprocess.Popen(
        [sys.executable, "-c", LH, "projections", "run", "--follow"],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log = tmp_path / "follower.log"
    assert wait_until(
        lambda: "following the log" in log.read_text() or child.poll() is not None, WAIT
    )
    assert child.poll() is None, log.read_text()
    assert socket_path(str(var / "analytics")).exists()
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(WAIT)
    output.close()


def append_rest(var: Path) -> int:
    batches = synthetic_batches(BARS)
    store = open_event_store(f"sqlite:///{var / 'events.sqlite'}")
    append_all(store, batches[len(batches) // 2 :])
    head = store.head()
    store.close()
    return head


def caught_up(env: dict[str, str], head: int) -> bool:
    result = lh(env, "projections", "status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    return status["head"] == head and all(p["lag"] == 0 for p in status["projections"])


def test_analytics_status_and_verify_work_while_the_follower_runs(
    env: dict[str, str], var: Path, fills: int, follower: subprocess.Popen[str]
) -> None:
    head = append_rest(var)
    assert wait_until(lambda: caught_up(env, head), WAIT, interval=0.5)
    assert holder(str(var / "analytics")) == follower.pid  # the follower still holds chDB

    listed = lh(env, "analytics", "list")
    assert listed.returncode == 0 and "pnl_by_day" in listed.stdout, listed.stderr
    count = lh(env, "analytics", "sql", "SELECT count() AS n FROM fills FINAL", "-f", "json")
    assert count.returncode == 0, count.stderr
    assert json.loads(count.stdout) == [{"n": fills}]
    named = lh(env, "analytics", "run", "pnl_by_day", "-f", "json")
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)  # the day's PnL rows, read through the follower
    verified = lh(env, "projections", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "matches the log" in verified.stdout and "MISMATCH" not in verified.stdout


def test_writes_through_the_follower_are_refused(
    env: dict[str, str], fills: int, follower: subprocess.Popen[str]
) -> None:
    second = lh(env, "projections", "run", "--only", "clickhouse")
    assert second.returncode == 2
    assert f"held by process {follower.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    rebuild = lh(env, "projections", "rebuild", "clickhouse", "--yes")
    assert rebuild.returncode == 2 and "held by process" in rebuild.stderr
    refused = lh(env, "analytics", "sql", "SELECT 1 INTO OUTFILE '/tmp/x'")
    assert refused.returncode == 2


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_stopping_the_follower_releases_the_database(
    env: dict[str, str], var: Path, fills: int, follower: subprocess.Popen[str], how: int
) -> None:
    follower.send_signal(how)
    assert follower.wait(WAIT) == 0
    engine = str(var / "analytics")
    assert holder(engine) is None and not socket_path(engine).exists()
    head = append_rest(var)
    again = lh(env, "projections", "run")
    assert again.returncode == 0, again.stderr
    assert f"caught up to position {head}" in again.stdout


def test_a_killed_follower_leaves_no_lock_behind(
    env: dict[str, str], var: Path, fills: int, follower: subprocess.Popen[str]
) -> None:
    follower.send_signal(signal.SIGKILL)
    follower.wait(WAIT)
    engine = str(var / "analytics")
    assert holder(engine) is None
    assert socket_path(engine).exists()  # what the kill left: readers must not trust it
    count = lh(env, "analytics", "sql", "SELECT count() > 0 AS some FROM fills FINAL", "-f", "json")
    assert count.returncode == 0, count.stderr
    head = append_rest(var)
    again = lh(env, "projections", "run")
    assert again.returncode == 0, again.stderr
    assert f"caught up to position {head}" in again.stdout
    assert lh(env, "projections", "verify").returncode == 0


HOLD = """
import sys, time, clickhouse_connect
client = clickhouse_connect.get_client(interface="chdb", path=sys.argv[1])
print("holding", flush=True)
time.sleep(600)
"""


def test_a_holder_that_does_not_serve_is_named(env: dict[str, str], var: Path) -> None:
    engine = var / "analytics"
    engine.mkdir(parents=True)
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(engine)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "holding\n"
        result = lh(env, "analytics", "sql", "SELECT 1")
    finally:
        other.kill()
        other.wait(WAIT)
    assert result.returncode == 2
    message = " ".join(result.stderr.split())  # one message (rich may wrap it)
    assert message.startswith("LH_CLICKHOUSE_URL:"), result.stderr
    assert "Traceback" not in message and "Cannot lock file" not in message  # nor chDB's own
    assert f"held by process {other.pid} and does not serve queries" in message
