"""Event store append and read benchmark: SQLite and Redis (no persistence, AOF everysec/always).

    python -m benchmarks.eventstore --backend all --events 20000
    python -m benchmarks.eventstore --backend redis-everysec --events 50000 --batch 1000

Measures, per backend: single-event append throughput and p50/p99/max latency, batched append
throughput through the ``EventStore`` facade (which encodes and hashes each event) and through
the bare recorder (pre-encoded events, the storage path alone), global-order read throughput
(decoded ``read_all`` and raw ``read_notifications``), peak traced Python memory of a batched
append + read pass, and the process's peak RSS. The AOF variants start their own redis-server
in a temp dir on a free port. On those, ``redis-benchmark`` (installed with redis-server) then
measures the server's own XADD rate with a ~600-byte value like an event's (50 clients; and one
client pipelining 1,000 commands, like a batch), so a run reports the facade's share of what
the same server takes in the same run. Each timed pass starts after ``gc.collect()``: the
events a pass appends (~190k Python objects at 30,000) are built just before it, and the full
collection their allocation makes due would otherwise fall inside the timed loop (~0.3 s, a
quarter of the batched facade pass), a cost of the benchmark's setup, not of the store. Prints
one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
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
    server_port: int | None = None
    """The port of a redis-server the benchmark started (None: SQLite, the machine's Redis)."""


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
        yield Backend(
            name, lambda space: open_event_store(server.url, key_prefix=space), server.port
        )
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
    gc.collect()
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


def server_cpu_s(port: int | None) -> float:
    """CPU seconds (all threads) of the redis-server we started, 0 for other backends."""
    if port is None:
        return 0.0
    client = redis.Redis(port=port)
    pid = int(client.info("server")["process_id"])
    client.close()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batched_appends(
    store: EventStore, events: list[NewEvent], size: int, server_port: int | None = None
) -> dict[str, float]:
    """Wall-clock rate, plus CPU µs per event of this process and of our redis-server: on a
    shared machine the wall clock waits for the CPU, and ``1e6 / (client + server)`` is the
    rate one writer reaches when both get a core."""
    latencies = []
    gc.collect()
    server_before = server_cpu_s(server_port)
    cpu_before = time.process_time()
    started = time.perf_counter()
    for batch in batches(events, size):
        before = time.perf_counter_ns()
        store.append(batch)
        latencies.append((time.perf_counter_ns() - before) / 1_000_000)
    elapsed = time.perf_counter() - started
    client_us = (time.process_time() - cpu_before) / len(events) * 1e6
    server_us = (server_cpu_s(server_port) - server_before) / len(events) * 1e6
    latencies.sort()
    result = {
        "events_per_s": round(len(events) / elapsed),
        "batch_p50_ms": round(statistics.median(latencies), 3),
        "batch_p99_ms": round(percentile(latencies, 0.99), 3),
        "client_cpu_us_per_event": round(client_us, 2),
    }
    if server_port is not None:
        result["server_cpu_us_per_event"] = round(server_us, 2)
        result["cpu_bound_events_per_s"] = round(1e6 / (client_us + server_us))
    return result


def recorder_appends(store: EventStore, events: list[NewEvent], size: int) -> dict[str, float]:
    """The storage path alone: events are encoded before the clock starts."""
    stored = [encode(event, RECORDED_AT) for event in events]
    gc.collect()
    started = time.perf_counter()
    for start in range(0, len(stored), size):
        store.recorder.insert_events(stored[start : start + size])
    elapsed = time.perf_counter() - started
    return {"events_per_s": round(len(stored) / elapsed)}


def reads(store: EventStore) -> dict[str, float]:
    gc.collect()
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


def redis_benchmark_xadd(port: int, requests: int) -> dict[str, float] | None:
    """XADD requests/s by ``redis-benchmark`` on our server: 50 clients one command at a time,
    and one client pipelining 1,000 (None when redis-benchmark is not installed)."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    command = ["XADD", "lhbench:xadd", "*", "s", "x" * 600]
    rates: dict[str, float] = {}
    for label, options in (
        ("clients_50", ["-c", "50"]),
        ("pipeline_1000", ["-c", "1", "-P", "1000"]),
    ):
        output = subprocess.run(
            [binary, "-p", str(port), "-n", str(requests), "--csv", *options, *command],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = list(csv.DictReader(io.StringIO(output)))
        rates[f"xadd_per_s_{label}"] = round(float(rows[-1]["rps"]))
    client = redis.Redis(port=port)
    client.delete("lhbench:xadd")
    client.close()
    return rates


def run_backend(bench: Backend, count: int, single: int, sizes: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    store = bench.open("single")
    result["single_append"] = single_appends(store, fills(single, "single"))
    store.close()
    for size in sizes:
        store = bench.open(f"batch{size}")
        result[f"batch_{size}_append"] = batched_appends(
            store, fills(count, f"b{size}"), size, bench.server_port
        )
        if size == sizes[-1]:
            result["read"] = reads(store)
        store.close()
        store = bench.open(f"raw{size}")
        result[f"batch_{size}_recorder_insert"] = recorder_appends(
            store, fills(count, f"r{size}"), size
        )
        store.close()
    result["tracemalloc_peak_mib"] = traced_peak(bench, min(count, 10_000))
    if bench.server_port is not None:
        rates = redis_benchmark_xadd(bench.server_port, max(count, 100_000))
        if rates is not None:
            facade = result[f"batch_{sizes[-1]}_append"]["events_per_s"]
            result["redis_benchmark"] = rates
            result[f"batch_{sizes[-1]}_facade_share_of_xadd"] = {
                label: round(facade / rate, 3) for label, rate in rates.items()
            }
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
