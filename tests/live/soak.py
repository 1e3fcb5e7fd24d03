"""The soak: SIGKILL a live session process at random instants, restart it each time, then
check at the exchange what the log says (used by ``test_soak_live`` and
``benchmarks/live_soak.py``).

The exchange is ``lh exchange serve`` in a process of its own, its market moving with wall
time (a 1m bar closes every ``pause`` s); each session (``tests.live.live_child``) reaches it
through ccxt over HTTP, exactly as ``lh live`` does. While a session is dead the market goes
on: the next one catches up on the bars it missed. Afterwards (``GET /local/state``) no client
order id reached the exchange twice, every exchange trade is in the log exactly once, the
position is the exchange's, and every start recorded one ``ReconciliationCompleted``."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from domain import ids
from domain.events.catalog import (
    FillRecorded,
    OrderSubmitted,
    ReconciliationCompleted,
    RunSnapshotSaved,
)
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from tests.live.support import log_of
from tests.trading.helpers import wave_bars

ROOT = Path(__file__).resolve().parents[2]
HISTORY = 20
MINUTE_MS = 60_000
FULL_REPLAY = "replaying the whole log"


@dataclass
class SoakResult:
    kills: int
    starts: int
    run_id: str
    bar_times: int
    reconciliations: int
    orders_at_exchange: int
    fills_at_exchange: int
    seconds: float
    snapshots: int = 0
    """``RunSnapshotSaved`` events in the log."""
    full_replays: int = 0
    """Restarts that warned they replay the whole log (no usable snapshot)."""


def soak(
    store_url: str,
    workdir: Path,
    *,
    kills: int,
    bars: int,
    pause: float = 0.1,
    seed: int = 7,
    window: tuple[float, float] = (0.0, 1.2),
    snapshot_every: int = 0,
) -> SoakResult:
    """Kill ``kills`` times at random instants in ``window`` s after each session is ready to
    trade (reconciled), then let the last session trade ``bars`` more bar times and stop;
    raise ``AssertionError`` if the log and the exchange disagree. ``snapshot_every`` > 0:
    the sessions save a snapshot that often (in ``workdir/objects``) and restart from it."""
    rng = random.Random(seed)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    data = _bar_file(workdir / "BTCUSDT.csv", rows=HISTORY + int(3600 / pause))
    serve = [sys.executable, "-m", "api", "exchange", "serve", "--port", "0", "--data", str(data),
             "--speed", str(60 / pause), "--history", str(HISTORY)]  # fmt: skip
    exchange = subprocess.Popen(serve, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert exchange.stdout is not None
        url = exchange.stdout.readline().strip()
        started = time.monotonic()
        objects = f"file://{workdir / 'objects'}"
        snapshots = [objects, str(snapshot_every)] if snapshot_every else []
        killed, starts, run_id, full_replays = _sessions(
            store_url, url, env, rng, kills, bars, window, snapshots
        )
        state = httpx.get(f"{url}/local/state", timeout=30).json()
    finally:
        exchange.send_signal(signal.SIGTERM)
        exchange.wait(timeout=30)
    events = log_of(open_event_store(store_url), run_id)
    check_exchange_agrees(events, state)
    kinds = Counter(type(e.payload) for e in events)
    return SoakResult(
        killed,
        starts,
        run_id,
        sum(1 for e in events if e.event_type == "BarClosed"),
        kinds[ReconciliationCompleted],
        len(state["orders"]) + len(state["lost_orders"]),
        len(state["trades"]),
        round(time.monotonic() - started, 1),
        kinds[RunSnapshotSaved],
        full_replays,
    )


def _sessions(
    store_url: str,
    url: str,
    env: dict[str, str],
    rng: random.Random,
    kills: int,
    bars: int,
    window: tuple[float, float],
    snapshots: list[str],
) -> tuple[int, int, str, int]:
    """Start, kill and restart sessions; the last one ends ``bars`` bar times after the
    exchange's market time at its start. Returns (kills, starts, run id, restarts that
    replayed the whole log)."""
    killed = starts = full_replays = 0
    while True:
        starts += 1
        end_ms = 0
        if killed >= kills:
            now_ms = int(httpx.get(f"{url}/local/state", timeout=30).json()["market_time_ms"])
            end_ms = now_ms // MINUTE_MS * MINUTE_MS + bars * MINUTE_MS
        command = [sys.executable, "-m", "tests.live.live_child", store_url, url, str(end_ms)]
        command += snapshots
        child = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if killed < kills:
            ready = child.stdout.readline() if child.stdout else ""
            if not ready.startswith("ready"):
                raise AssertionError(f"session did not start: {child.communicate()[1][-2000:]}")
            time.sleep(rng.uniform(*window))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                full_replays += FULL_REPLAY in child.communicate()[1]
                killed += 1
                continue
        out, err = child.communicate(timeout=600)
        full_replays += FULL_REPLAY in err
        if child.returncode != 0:
            raise AssertionError(f"session exited {child.returncode}: {err.strip()[-2000:]}")
        if killed >= kills:
            return killed, starts, out.strip().splitlines()[-1], full_replays


def check_exchange_agrees(events: list[RecordedEvent], state: dict[str, Any]) -> None:
    """No client order id at the exchange twice, each one an order the log submitted; every
    exchange trade in the log exactly once; the log's position is the exchange's balance."""
    orders = [*state["orders"], *state["lost_orders"]]
    at_exchange = Counter(str(order["clientOrderId"]) for order in orders)
    assert at_exchange and all(n == 1 for n in at_exchange.values()), at_exchange
    submitted = [e.payload.order_id for e in events if isinstance(e.payload, OrderSubmitted)]
    assert len(submitted) == len(set(submitted))
    assert set(at_exchange) <= {ids.venue_client_order_id(order_id) for order_id in submitted}
    fills = [e.payload for e in events if isinstance(e.payload, FillRecorded)]
    logged = Counter(fill.venue_fill_id for fill in fills)
    assert logged == Counter(str(trade["id"]) for trade in state["trades"]), logged
    position = sum((fill.side.sign * fill.quantity for fill in fills), Decimal(0))
    assert position == Decimal(state["balances"].get("BTC", "0"))


def _bar_file(path: Path, rows: int) -> Path:
    """``rows`` 1m bars of a wave (SMA crosses every few dozen bars) from 2024-01-01."""
    lines = ["timestamp,open,high,low,close,volume"]
    for number, bar in enumerate(wave_bars(rows, "BTCUSDT")):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_704_067_200 + 60 * number))
        lines.append(f"{stamp},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume}")
    path.write_text("\n".join(lines) + "\n")
    return path
