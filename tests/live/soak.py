"""The soak: SIGKILL a live session process at random instants, restart it each time, then
check the log against the exchange (used by ``test_soak_live`` and ``benchmarks/live_soak.py``)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from domain.events.catalog import ReconciliationCompleted
from infra.eventstore.factory import open_event_store
from tests.live.fake_exchange import FakeExchange
from tests.live.support import check_agreement, log_of

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SoakResult:
    kills: int
    starts: int
    run_id: str
    reconciliations: int
    orders_at_exchange: int
    fills_at_exchange: int
    seconds: float


def soak(
    store_url: str,
    workdir: Path,
    *,
    kills: int,
    bars: int,
    pause: float = 0.02,
    seed: int = 7,
    window: tuple[float, float] = (0.0, 1.2),
) -> SoakResult:
    """Kill ``kills`` times at random instants in ``window`` s after each session is ready to
    trade (reconciled), then let the
    last session run to the end of its ``bars``; raise ``AssertionError`` if the log and the
    exchange disagree."""
    rng = random.Random(seed)
    state = workdir / "exchange.json"
    command = [sys.executable, "-m", "tests.live.live_child", store_url, str(state), str(bars)]
    command.append(str(pause))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    killed = starts = 0
    while True:
        starts += 1
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
                child.wait()
                killed += 1
                continue
        out, err = child.communicate(timeout=600)
        if child.returncode != 0:
            raise AssertionError(f"session exited {child.returncode}: {err.strip()[-2000:]}")
        if killed >= kills:
            run_id = out.strip().splitlines()[-1]
            break
    store = open_event_store(store_url)
    exchange = FakeExchange(path=state)
    check_agreement(store, run_id, exchange)
    events = log_of(store, run_id)
    reconciliations = Counter(type(e.payload) for e in events)[ReconciliationCompleted]
    return SoakResult(
        killed,
        starts,
        run_id,
        reconciliations,
        len(exchange.submits_received),
        len(exchange.fills),
        round(time.monotonic() - started, 1),
    )
