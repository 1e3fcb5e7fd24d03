"""Cost of the metrics on the event store's append path (``lh_events_appended``,
``lh_append_seconds``), measured two ways that survive a busy machine better than comparing
two whole benchmark runs:

* ``per_append_ns``: the instrumentation alone (a perf_counter pair, a histogram observe, a
  counter inc), in a tight loop.
* ``ab``: single-event appends into SQLite, alternating blocks with the real metrics and with
  no-op stand-ins swapped in, so both sides see the same machine load; medians per block.

    python -m benchmarks.observability --blocks 20 --block 300

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.eventstore import fills
from infra.eventstore import store as store_module
from infra.eventstore.factory import open_event_store
from infra.observability.metrics import APPEND_SECONDS, EVENTS_APPENDED


class _Nothing:
    def observe(self, _value: float) -> None:
        return None

    def inc(self, _amount: float = 1) -> None:
        return None


def per_append_ns(rounds: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(rounds):
        begun = time.perf_counter()
        APPEND_SECONDS.observe(time.perf_counter() - begun)
        EVENTS_APPENDED.inc(1)
    return (time.perf_counter_ns() - started) / rounds


def ab(blocks: int, block: int) -> dict[str, Any]:
    real: dict[str, Any] = {"APPEND_SECONDS": APPEND_SECONDS, "EVENTS_APPENDED": EVENTS_APPENDED}
    stubs = {name: _Nothing() for name in real}
    with tempfile.TemporaryDirectory() as directory:
        store = open_event_store(f"sqlite:///{Path(directory) / 'ab.sqlite'}")
        events = fills(blocks * block * 2, "ab")
        per_event: dict[str, list[float]] = {"with_metrics": [], "without_metrics": []}
        cursor = 0
        for index in range(blocks * 2):
            side = "with_metrics" if index % 2 == 0 else "without_metrics"
            for name, value in (real if side == "with_metrics" else stubs).items():
                setattr(store_module, name, value)
            started = time.perf_counter()
            for event in events[cursor : cursor + block]:
                store.append([event])
            per_event[side].append((time.perf_counter() - started) / block * 1e6)
            cursor += block
        for name, value in real.items():
            setattr(store_module, name, value)
    medians = {side: statistics.median(values) for side, values in per_event.items()}
    overhead = medians["with_metrics"] - medians["without_metrics"]
    return {
        "single_append_us_median": {side: round(value, 2) for side, value in medians.items()},
        "overhead_us": round(overhead, 2),
        "overhead_pct": round(100 * overhead / medians["without_metrics"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20, help="blocks per side")
    parser.add_argument("--block", type=int, default=300, help="appends per block")
    parser.add_argument("--rounds", type=int, default=200_000)
    args = parser.parse_args()
    result = {
        "benchmark": "observability",
        "per_append_ns": round(per_append_ns(args.rounds)),
        "ab": ab(args.blocks, args.block),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
