"""The soak: SIGKILL a live session process at random instants, restart it each time, then
check at the exchange what the log says (used by ``test_soak_live`` and
``benchmarks/live_soak.py``).

The exchange is ``lh exchange serve`` in a process of its own, its market moving with wall
time (a 1m bar closes every ``pause`` s); each session (``tests.live.live_child``) reaches it
through ccxt over HTTP, exactly as ``lh live`` does. While a session is dead the market goes
on: the next one catches up on the bars it missed. Afterwards (``GET /local/state``) no client
order id reached the exchange twice, every exchange trade is in the log exactly once, the
position is the exchange's, every start recorded one ``ReconciliationCompleted``, and the
log's chain verifies (``verify_log``: no acknowledged event lost or changed).

With a Redis primary/replica pair (``RedisPair``, sessions appending with
``LH_REDIS_WAIT_REPLICAS=1``) some interruptions lose the primary instead: it is SIGKILLed
under the running session, the replica promoted, the old primary brought back as replica, and
the next session runs on the new primary (used by ``test_soak_replica``)."""

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
    BalanceAdjusted,
    FillRecorded,
    OrderSubmitted,
    ReconciliationCompleted,
    RunSnapshotSaved,
)
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from projections.integrity import verify_log
from tests.live.redis_pair import RedisPair
from tests.live.support import log_of
from tests.trading.helpers import wave_bars

ROOT = Path(__file__).resolve().parents[2]
HISTORY = 20
MINUTE_MS = 60_000
WAIT_MS = 5000
"""How long an append waits for the replica (a rejoined one may still be loading)."""
STORE_LOSS_S = 2.0
"""How long a session that lost its Redis primary is given to end by itself."""
FULL_REPLAY = "replaying the whole log"


@dataclass
class SoakResult:
    kills: int
    failovers: int
    stopped_on_store_loss: int
    starts: int
    run_id: str
    bar_times: int
    reconciliations: int
    orders_at_exchange: int
    fills_at_exchange: int
    events_verified: int
    seconds: float
    snapshots: int = 0
    """``RunSnapshotSaved`` events in the log."""
    full_replays: int = 0
    """Restarts that warned they replay the whole log (no usable snapshot)."""


def soak(
    store: str | RedisPair,
    workdir: Path,
    *,
    kills: int,
    bars: int,
    failovers: int = 0,
    pause: float = 0.1,
    seed: int = 7,
    window: tuple[float, float] = (0.0, 1.2),
    snapshot_every: int = 0,
) -> SoakResult:
    """Kill ``kills`` times at random instants in ``window`` s after each session is ready to
    trade (reconciled), then let the last session trade ``bars`` more bar times and stop;
    raise ``AssertionError`` if the log and the exchange disagree. ``store`` is a store URL
    or a Redis primary/replica pair: then ``failovers`` of the interruptions (at random
    turns) SIGKILL the Redis primary under the running session instead, promote the replica,
    bring the old primary back as replica, and restart the session on the new primary.
    ``snapshot_every`` > 0: the sessions save a snapshot that often (in ``workdir/objects``)
    and restart from it."""
    rng = random.Random(seed)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    if isinstance(store, RedisPair):
        env |= {"LH_REDIS_WAIT_REPLICAS": "1", "LH_REDIS_WAIT_TIMEOUT_MS": str(WAIT_MS)}
    turns = set(rng.sample(range(kills + failovers), failovers))
    data = bar_file(workdir / "BTCUSDT.csv", rows=HISTORY + int(3600 / pause))
    serve = [sys.executable, "-m", "api", "exchange", "serve", "--port", "0", "--data", str(data),
             "--speed", str(60 / pause), "--history", str(HISTORY)]  # fmt: skip
    exchange = subprocess.Popen(serve, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert exchange.stdout is not None
        url = exchange.stdout.readline().strip()
        started = time.monotonic()
        snapshots = [f"file://{workdir / 'objects'}", str(snapshot_every)] if snapshot_every else []
        plan = _Plan(store, url, env, rng, kills + failovers, turns, bars, window, snapshots)
        starts, stopped, run_id, full_replays = _sessions(plan)
        state = httpx.get(f"{url}/local/state", timeout=30).json()
    finally:
        exchange.send_signal(signal.SIGTERM)
        exchange.wait(timeout=30)
    log = open_event_store(_url(store))
    events = log_of(log, run_id)
    check_exchange_agrees(events, state)
    integrity = verify_log(log)
    assert integrity.ok, [str(finding) for finding in integrity.findings]
    if isinstance(store, RedisPair):  # every append waited for it: the next loss loses nothing
        assert open_event_store(store.replica_url).head() == log.head()
    kinds = Counter(type(e.payload) for e in events)
    return SoakResult(
        kills,
        failovers,
        stopped,
        starts,
        run_id,
        sum(1 for e in events if e.event_type == "BarClosed"),
        kinds[ReconciliationCompleted],
        len(state["orders"]) + len(state["lost_orders"]),
        len(state["trades"]),
        integrity.events,
        round(time.monotonic() - started, 1),
        kinds[RunSnapshotSaved],
        full_replays,
    )


@dataclass
class _Plan:
    """What ``_sessions`` runs: ``interruptions`` in all, the turns in ``failovers`` losing
    the Redis primary (``store`` is then a ``RedisPair``), the others the session."""

    store: str | RedisPair
    url: str
    env: dict[str, str]
    rng: random.Random
    interruptions: int
    failovers: set[int]
    bars: int
    window: tuple[float, float]
    snapshots: list[str]
    """``live_child``'s snapshot arguments (object store URL and interval), or none."""


def _sessions(plan: _Plan) -> tuple[int, int, str, int]:
    """Start, interrupt and restart sessions; the last one ends ``bars`` bar times after the
    exchange's market time at its start. Returns (starts, sessions that stopped by themselves
    on losing the primary, run id, restarts that replayed the whole log)."""
    done = starts = stopped = full_replays = 0
    while True:
        starts += 1
        end_ms = 0
        if done >= plan.interruptions:
            now_ms = int(httpx.get(f"{plan.url}/local/state", timeout=30).json()["market_time_ms"])
            end_ms = now_ms // MINUTE_MS * MINUTE_MS + plan.bars * MINUTE_MS
        command = [sys.executable, "-m", "tests.live.live_child", _url(plan.store), plan.url,
                   str(end_ms), *plan.snapshots]  # fmt: skip
        child = subprocess.Popen(
            command, cwd=ROOT, env=plan.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        if done < plan.interruptions:
            ready = child.stdout.readline() if child.stdout else ""
            if not ready.startswith("ready"):
                raise AssertionError(f"session did not start: {child.communicate()[1][-2000:]}")
            time.sleep(plan.rng.uniform(*plan.window))
            if child.poll() is None:
                if done in plan.failovers:
                    assert isinstance(plan.store, RedisPair)
                    stopped += _lose_primary(child, plan.store)
                else:
                    child.send_signal(signal.SIGKILL)
                full_replays += FULL_REPLAY in child.communicate()[1]
                done += 1
                continue
        out, err = child.communicate(timeout=600)
        full_replays += FULL_REPLAY in err
        if child.returncode != 0:
            raise AssertionError(f"session exited {child.returncode}: {err.strip()[-2000:]}")
        if done >= plan.interruptions:
            return starts, stopped, out.strip().splitlines()[-1], full_replays


def _lose_primary(child: subprocess.Popen[str], pair: RedisPair) -> bool:
    """SIGKILL the Redis primary under the running session, then promote the replica and
    bring the old primary back as its replica. The session, left without its store, should
    stop by itself (a failed run); it is SIGKILLed if still running after ``STORE_LOSS_S``.
    Returns whether it stopped by itself."""
    pair.kill(pair.primary)
    try:
        child.wait(timeout=STORE_LOSS_S)
        stopped = True
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        stopped = False
    pair.promote()
    pair.rejoin()
    return stopped


def _url(store: str | RedisPair) -> str:
    return store.url if isinstance(store, RedisPair) else store


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
    traded = Counter(str(trade["id"]) for trade in state["trades"])
    assert logged == traded, f"not in the log: {traded - logged}, not traded: {logged - traded}"
    position = sum((fill.side.sign * fill.quantity for fill in fills), Decimal(0))
    assert position == Decimal(state["balances"].get("BTC", "0"))
    adjusted = [e.payload for e in events if isinstance(e.payload, BalanceAdjusted)]
    assert not [a for a in adjusted if a.currency == "BTC"], adjusted  # restarts found each fill


def bar_file(path: Path, rows: int) -> Path:
    """``rows`` 1m bars of a wave (SMA crosses every few dozen bars) from 2024-01-01."""
    lines = ["timestamp,open,high,low,close,volume"]
    for number, bar in enumerate(wave_bars(rows, "BTCUSDT")):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_704_067_200 + 60 * number))
        lines.append(f"{stamp},{bar.open},{bar.high},{bar.low},{bar.close},{bar.volume}")
    path.write_text("\n".join(lines) + "\n")
    return path
