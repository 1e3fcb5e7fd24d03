"""SQL read-model throughput: apply N synthetic trading events to MariaDB and to SQLite.

First builds the event log (``tests.fixtures.synthetic.SyntheticLog``) in a temporary SQLite event
store and reports that separately. Then, per backend and in its own process (so peak memory is
its own), reads the log page by page, decodes it and applies it with ``SqlProjection.apply``:
events/s for apply alone and end to end (read + decode + apply), batch latency p50/p99, peak
RSS. Prints ONE JSON object.

    .venv/bin/python -m benchmarks.projections_sql                     # 1,000,000 events
    .venv/bin/python -m benchmarks.projections_sql --events 200000 --backends mysql
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MYSQL_SERVER = os.environ.get("LH_BENCH_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306")
GROUP = 50  # synthetic minutes per append: fewer commits while building the log


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def build_log(path: Path, events: int, *, seed: int = 7) -> dict[str, Any]:
    """Append at least ``events`` synthetic events to a new SQLite store at ``path``."""
    from infra.eventstore.factory import open_event_store
    from tests.fixtures.synthetic import SyntheticLog

    store = open_event_store(f"sqlite:///{path}")
    started = time.perf_counter()
    pending: list[Any] = []
    appended = 0
    for batch in SyntheticLog(seed=seed).batches(events // 13 + 100):
        pending += batch
        if len(pending) >= GROUP * 14 or appended + len(pending) >= events:
            take = pending[: events - appended]
            store.append(take)
            appended += len(take)
            pending = []
        if appended >= events:
            break
    seconds = time.perf_counter() - started
    head = store.head()
    store.close()
    return {
        "url": f"sqlite:///{path}",
        "events": head,
        "seconds": round(seconds, 2),
        "events_per_second": round(head / seconds),
    }


def _mysql_database() -> tuple[str, Any]:
    import sqlalchemy

    name = f"lh_bench_{os.getpid()}"
    server = sqlalchemy.create_engine(MYSQL_SERVER + "/")
    with server.begin() as connection:  # the read model never creates a server database
        connection.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")

    def drop() -> None:
        with server.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        server.dispose()

    return f"{MYSQL_SERVER}/{name}", drop


def worker(backend: str, log_url: str, batch_size: int, verify: bool) -> dict[str, Any]:
    """Apply the whole log to one backend; runs in its own process."""
    from domain.events.codec import decode
    from infra.eventstore.factory import open_event_store
    from projections.sql.projection import SqlProjection

    drop = None
    scratch = Path(tempfile.mkdtemp(prefix="lh-bench-sql-"))
    if backend == "mysql":
        url, drop = _mysql_database()
    else:
        url = f"sqlite:///{scratch / 'readmodel.sqlite'}"
    store = open_event_store(log_url)
    projection = SqlProjection.open(url)
    projection.reset()
    latencies: list[float] = []
    apply_cpu = 0.0
    read_seconds = 0.0
    started = time.perf_counter()
    mark = started
    for page in store.read_notifications(0, batch_size=batch_size):
        events = [decode(notification) for notification in page]
        applying = time.perf_counter()
        read_seconds += applying - mark
        cpu = time.process_time()
        projection.apply(events)
        apply_cpu += time.process_time() - cpu
        mark = time.perf_counter()
        latencies.append(mark - applying)
    total = time.perf_counter() - started
    applied = projection.checkpoint()
    apply_seconds = sum(latencies)
    result: dict[str, Any] = {
        "backend": backend,
        "events": applied,
        "batch_size": batch_size,
        "apply_seconds": round(apply_seconds, 2),
        "apply_events_per_second": round(applied / apply_seconds),
        "apply_client_cpu_seconds": round(apply_cpu, 2),
        "read_decode_seconds": round(read_seconds, 2),
        "end_to_end_seconds": round(total, 2),
        "end_to_end_events_per_second": round(applied / total),
        "batch_latency_ms": {
            "p50": round(percentile(latencies, 0.50) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }
    if verify:
        from projections.queries.state import compute_log_state

        checked = time.perf_counter()
        result["mismatches"] = len(projection.mismatches(compute_log_state(store)))
        result["verify_seconds"] = round(time.perf_counter() - checked, 2)
    projection.close()
    store.close()
    if drop is not None:
        drop()
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backends", default="mysql,sqlite", help="comma list: mysql,sqlite")
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--log", help="reuse this SQLite event store (sqlite:///path)")
    parser.add_argument("--verify", action="store_true", help="also check against LogState")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.log, args.batch_size, args.verify)))
        return
    work = Path(tempfile.mkdtemp(prefix="lh-bench-log-"))
    if args.log:
        log = {"url": args.log, "reused": True}
    else:
        log = build_log(work / "events.sqlite", args.events)
    results = {}
    for backend in args.backends.split(","):
        command = [
            sys.executable,
            "-m",
            "benchmarks.projections_sql",
            "--worker",
            backend,
            "--log",
            log["url"],
            "--batch-size",
            str(args.batch_size),
        ]
        if args.verify:
            command.append("--verify")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            results[backend] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)  # the log we built (a --log is left alone)
    print(
        json.dumps(
            {
                "benchmark": "projections_sql",
                "machine": {"cpus": os.cpu_count()},
                "event_log_build": log,
                "results": results,
                "target": {"mysql_apply_events_per_second": 20_000},
            }
        )
    )


if __name__ == "__main__":
    main()
