"""Event store append and read benchmark: SQLite and Redis (no persistence, AOF everysec/always).

    python -m benchmarks.eventstore --backend all --events 20000
    python -m benchmarks.eventstore --backend redis-everysec --events 50000 --batch 1000

Measures, per backend: single-event append throughput and p50/p99/max latency, batched append
throughput through the ``EventStore`` facade (which encodes and hashes each event) and through
the bare recorder (pre-encoded events, the storage path alone), global-order read throughput
(decoded ``read_all`` and raw ``read_notifications``), peak traced Python memory of a batched
append + read pass, and the process's peak RSS. The AOF variants start their own redis-server
in a temp dir on a free port. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis

from domain.events.catalog import FillRecorded
from domain.events.codec import encode
from domain.events.envelope import NewEvent
from domain.events.types import Liquidity, Side
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.services import REDIS_URL, RedisServer, free_port

BACKENDS = ("sqlite", "redis-none", "redis-everysec", "redis-always")
STREAMS = 200
RECORDED_AT = 1_700_000_000_000_000


@dataclass(frozen=True, slots=True)
class Backend:
    """An opened store, and how to open a fresh one under a new namespace."""

    name: str
    open: Callable[[str], EventStore]


@contextmanager
def backend(name: str, directory: Path) -> Iterator[Backend]:
    """A store factory for ``name``; each namespace is a fresh, empty log."""
    if name == "sqlite":
        yield Backend(
            name,
            lambda space: open_event_store(f"sqlite:///{directory / space}.sqlite"),
        )
        return
    if name == "redis-none":
        prefix = f"lhbench-{uuid.uuid4().hex[:8]}"
        try:
            yield Backend(
                name,
                lambda space: open_event_store(REDIS_URL, key_prefix=f"{prefix}-{space}"),
            )
        finally:
            _delete_prefix(REDIS_URL, prefix)
        return
    fsync = name.removeprefix("redis-")
    server_dir = directory / name
    server_dir.mkdir()
    server = RedisServer(free_port(), server_dir, fsync)
    server.start()
    try:
        yield Backend(name, lambda space: open_event_store(server.url, key_prefix=space))
    finally:
        server.stop()


def _delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def fills(count: int, tag: str) -> list[NewEvent]:
    """Realistic FillRecorded events spread over ``STREAMS`` order streams (~600 byte state)."""
    versions: dict[str, int] = {}
    events = []
    for n in range(count):
        stream = f"order-{tag}-{n % STREAMS}"
        versions[stream] = versions.get(stream, 0) + 1
        events.append(
            NewEvent(
                stream_id=stream,
                stream_version=versions[stream],
                payload=FillRecorded(
                    fill_id=f"fill-{tag}-{n}",
                    order_id=stream,
                    account="acct-1",
                    strategy="sma-cross",
                    symbol="BTC/USDT",
                    side=Side.BUY if n % 2 else Side.SELL,
                    price=Decimal("30000.5") + n % 100,
                    quantity=Decimal("0.125"),
                    fee=Decimal("0.0375"),
                    fee_currency="USDT",
                    liquidity=Liquidity.TAKER,
                    venue="sim",
                    venue_order_id=f"v-{n}",
                    venue_fill_id=f"vf-{n}",
                ),
                event_id=f"evt-{tag}-{n}",
                event_time_us=RECORDED_AT + n,
                causation_id=f"order-{n}",
                correlation_id=f"run-{tag}",
            )
        )
    return events


def batches(events: list[NewEvent], size: int) -> Iterator[list[NewEvent]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def single_appends(store: EventStore, events: list[NewEvent]) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for event in events:
        before = time.perf_counter_ns()
        store.append([event])
        latencies.append((time.perf_counter_ns() - before) / 1_000_000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events_per_s": round(len(events) / elapsed),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1], 3),
    }


def batched_appends(store: EventStore, events: list[NewEvent], size: int) -> dict[str, float]:
    latencies = []
    started = time.perf_counter()
    for batch in batches(events, size):
        before = time.perf_counter_ns()
        store.append(batch)
        latencies.append((time.perf_counter_ns() - before) / 1_000_000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "events_per_s": round(len(events) / elapsed),
        "batch_p50_ms": round(statistics.median(latencies), 3),
        "batch_p99_ms": round(percentile(latencies, 0.99), 3),
    }


def recorder_appends(store: EventStore, events: list[NewEvent], size: int) -> dict[str, float]:
    """The storage path alone: events are encoded before the clock starts."""
    stored = [encode(event, RECORDED_AT) for event in events]
    started = time.perf_counter()
    for start in range(0, len(stored), size):
        store.recorder.insert_events(stored[start : start + size])
    elapsed = time.perf_counter() - started
    return {"events_per_s": round(len(stored) / elapsed)}


def reads(store: EventStore) -> dict[str, float]:
    started = time.perf_counter()
    decoded = sum(1 for _ in store.read_all())
    decoded_elapsed = time.perf_counter() - started
    started = time.perf_counter()
    raw = sum(len(page) for page in store.read_notifications(batch_size=1_000))
    raw_elapsed = time.perf_counter() - started
    return {
        "events": decoded,
        "read_all_events_per_s": round(decoded / decoded_elapsed),
        "read_notifications_events_per_s": round(raw / raw_elapsed),
    }


def traced_peak(bench: Backend, count: int) -> float:
    """Peak traced Python allocation (MiB) of a batched append and a full read (not timed)."""
    store = bench.open("traced")
    events = fills(count, "traced")
    tracemalloc.start()
    for batch in batches(events, 1_000):
        store.append(batch)
    for _ in store.read_all():
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    store.close()
    return round(peak / 2**20, 1)


def run_backend(bench: Backend, count: int, single: int, sizes: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    store = bench.open("single")
    result["single_append"] = single_appends(store, fills(single, "single"))
    store.close()
    for size in sizes:
        store = bench.open(f"batch{size}")
        result[f"batch_{size}_append"] = batched_appends(store, fills(count, f"b{size}"), size)
        if size == sizes[-1]:
            result["read"] = reads(store)
        store.close()
        store = bench.open(f"raw{size}")
        result[f"batch_{size}_recorder_insert"] = recorder_appends(
            store, fills(count, f"r{size}"), size
        )
        store.close()
    result["tracemalloc_peak_mib"] = traced_peak(bench, min(count, 10_000))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--events", type=int, default=20_000, help="events per batched run")
    parser.add_argument("--single", type=int, default=3_000, help="events appended one by one")
    parser.add_argument(
        "--batch", type=int, action="append", help="batch size (repeatable; default 100 and 1000)"
    )
    args = parser.parse_args()
    names = BACKENDS if args.backend == "all" else (args.backend,)
    sizes = args.batch or [100, 1_000]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lh-bench-") as directory:
        for name in names:
            with backend(name, Path(directory)) as bench:
                results[name] = run_backend(bench, args.events, args.single, sizes)
    print(
        json.dumps(
            {
                "benchmark": "eventstore",
                "events": args.events,
                "single_events": args.single,
                "batch_sizes": sizes,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
