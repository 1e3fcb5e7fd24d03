"""``lh live --snapshot-every N`` saves snapshots in the object store, and after a SIGKILL the
same command restarts from the latest one (no line says it replays the whole log)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

from adapters.exchange_local.defaults import DEFAULT_API_KEY, DEFAULT_SECRET
from adapters.objectstore.local import LocalObjectStore
from domain.events.catalog import RunSnapshotSaved
from infra.eventstore.factory import open_event_store
from tests.live.soak import FULL_REPLAY, HISTORY, bar_file
from tests.live.support import ROOT, add_venue_key, log_of, run_lh

RUN = "live-cli-snapshots"
LIVE = ["live", "--venue", "binance", "--key", "main", "--strategy", "sma_cross",
        "--symbol", "BTC/USDT", "--timeframe", "1m", "--param", "fast=2", "--param", "slow=4",
        "--limit", "max_order_notional=100000", "--limit", "max_position=10",
        "--limit", "max_daily_loss=50000", "--snapshot-every", "2", "--json"]  # fmt: skip


def test_lh_live_restarts_from_its_snapshot_in_the_object_store(tmp_path: Path) -> None:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "LH_VAR_DIR": str(tmp_path / "var"),
        "LH_EVENT_STORE": f"sqlite:///{tmp_path}/events.sqlite",
        "LH_OBJECT_STORE": f"file://{tmp_path / 'objects'}",
        "LH_MASTER_KEY": Fernet.generate_key().decode(),
        "KEY": DEFAULT_API_KEY,
        "SECRET": DEFAULT_SECRET,
    }

    snapshots = tmp_path / "objects" / "live-snapshots"

    add_venue_key(env)
    data = bar_file(tmp_path / "BTCUSDT.csv", rows=HISTORY + 600)
    serve = [sys.executable, "-m", "api", "exchange", "serve", "--port", "0", "--data",
             str(data), "--speed", "300", "--history", str(HISTORY)]  # fmt: skip
    exchange = subprocess.Popen(serve, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert exchange.stdout is not None
        url = exchange.stdout.readline().strip()
        command = [sys.executable, "-m", "api", *LIVE, "--venue-url", url, "--run-id", RUN]
        first = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        _wait_for(snapshots / f"{RUN}.snapshot", first)
        first.send_signal(signal.SIGKILL)
        first.wait()
        again = run_lh(env, *LIVE, "--venue-url", url, "--max-bars", "3", "--run-id", RUN)
    finally:
        exchange.terminate()
        exchange.wait(timeout=30)
    assert again.returncode == 0, again.stderr
    assert FULL_REPLAY not in again.stderr
    objects = LocalObjectStore(tmp_path / "objects")  # a kill mid-write may leave a .tmp- file
    assert list(objects.list("live-snapshots/")) == [f"live-snapshots/{RUN}.snapshot"]
    events = log_of(open_event_store(env["LH_EVENT_STORE"]), RUN)
    taken = [e.payload.bar_times for e in events if isinstance(e.payload, RunSnapshotSaved)]
    assert taken == list(range(2, 2 * len(taken) + 1, 2))


def _wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    """Until ``path`` exists (the session saved its first snapshot); fail if it exits."""
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the session exited: {process.communicate()[1][-2000:]}")
        time.sleep(0.05)
