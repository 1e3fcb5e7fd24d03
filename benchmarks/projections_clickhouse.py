"""Benchmark the ClickHouse read model (chDB) and the named analytics queries.

Builds N synthetic trading events into a temporary SQLite event store (timed on its own),
reads them back page by page, projects them into a temporary on-disk chDB database and
times every named query over the result. Prints ONE JSON object on stdout.

    .venv/bin/python benchmarks/projections_clickhouse.py --events 1000000 --batch 20000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from domain.events.codec import decode
from domain.events.envelope import NewEvent
from infra.eventstore.factory import open_event_store
from projections.clickhouse import ClickHouseProjection
from projections.queries.analytics import QUERIES, run_named
from tests.fixtures.synthetic import SyntheticLog

EVENTS_PER_BAR = 14.1  # what SyntheticLog emits per simulated minute, on average
APPEND_EVENTS = 5_000  # events per append (one transaction): the log is built, not benchmarked


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def build_log(url: str, events: int) -> tuple[int, float]:
    store = open_event_store(url)
    started = time.perf_counter()
    written = 0
    pending: list[NewEvent] = []
    with progress() as bar:
        task = bar.add_task("build log", total=events)
        for batch in SyntheticLog().batches(int(events / EVENTS_PER_BAR) + 1):
            pending.extend(batch)
            if len(pending) >= APPEND_EVENTS:
                written += len(store.append(pending).positions)
                pending = []
                bar.update(task, completed=min(written, events))
        written += len(store.append(pending).positions)
    seconds = time.perf_counter() - started
    head = store.head()
    store.close()
    return head, seconds


def project(store_url: str, ch_url: str, head: int, batch_size: int) -> dict[str, Any]:
    store = open_event_store(store_url)
    projection = ClickHouseProjection.open(ch_url)
    latencies: list[float] = []
    apply_cpu = 0.0  # process CPU: this thread's Python and chDB's insert and merge threads
    rows = 0
    read_seconds = 0.0
    started = time.perf_counter()
    with progress() as bar:
        task = bar.add_task("project", total=head)
        pages = store.read_notifications(0, batch_size=batch_size)
        while True:
            read_started = time.perf_counter()
            page = next(pages, None)
            if page is None:
                break
            batch = [decode(notification) for notification in page]
            read_seconds += time.perf_counter() - read_started
            apply_started, cpu_started = time.perf_counter(), time.process_time()
            projection.apply(batch)
            latencies.append(time.perf_counter() - apply_started)
            apply_cpu += time.process_time() - cpu_started
            rows += projection.rows_last_batch
            bar.update(task, completed=batch[-1].position)
    total = time.perf_counter() - started
    apply_seconds = sum(latencies)
    result = {
        "batches": len(latencies),
        "rows": rows,
        "rows_by_table": projection.row_counts(),
        "apply_seconds": round(apply_seconds, 3),
        "apply_cpu_seconds": round(apply_cpu, 3),
        "read_decode_seconds": round(read_seconds, 3),
        "end_to_end_seconds": round(total, 3),
        "rows_per_second_apply": round(rows / apply_seconds),
        "rows_per_cpu_second_apply": round(rows / apply_cpu),
        "events_per_second_apply": round(head / apply_seconds),
        "events_per_second_end_to_end": round(head / total),
        "batch_latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 1),
            "p99": round(1000 * _percentile(latencies, 0.99), 1),
            "max": round(1000 * max(latencies), 1),
        },
        "queries": _time_queries(projection),
    }
    projection.close()
    store.close()
    return result


def _time_queries(projection: ClickHouseProjection) -> dict[str, dict[str, float | int]]:
    timings: dict[str, dict[str, float | int]] = {}
    for name in QUERIES:
        run_named(projection.client, name)  # warm caches once, then time the second run
        started = time.perf_counter()
        result = run_named(projection.client, name)
        timings[name] = {
            "seconds": round(time.perf_counter() - started, 4),
            "rows": len(result.rows),
        }
    return timings


def _percentile(values: list[float], level: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(level * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000, help="events per apply()")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as directory:
        store_url = f"sqlite:///{Path(directory) / 'events.sqlite'}"
        head, build_seconds = build_log(store_url, args.events)
        projected = project(store_url, f"chdb://{Path(directory) / 'chdb'}", head, args.batch)
    report = {
        "benchmark": "projections_clickhouse",
        "backend": "chdb (in-process ClickHouse)",
        "events": head,
        "batch_events": args.batch,
        "build_log_seconds": round(build_seconds, 2),
        "build_log_events_per_second": round(head / build_seconds),
        **projected,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": sys.version.split()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
