"""Rebuild every read model from N events, then measure lag while the log grows at 5,000 ev/s.

1. Builds a synthetic log of N events in a temporary SQLite event store (reported separately).
2. Starts the read models (SQL on MariaDB by default, ClickHouse on chDB, the object store in a
   temp directory) in worker processes: ``--mode threads`` runs them all in one process, one
   thread each (what ``lh projections rebuild all`` does); ``--mode processes`` runs one process
   per read model (what ``lh projections run --follow --only NAME`` per service does). Each
   resets its models and times ``ProjectionRunner.catch_up`` from position 0.
3. Then they follow the log while another process appends synthetic trading at ``--rate``
   events/s for ``--seconds``: lag in events (head - checkpoint, at 50 ms samples of the head)
   and in seconds (from an append's commit to when each model has applied it), p50/p99/max.

Prints ONE JSON object.

    .venv/bin/python -m benchmarks.rebuild                              # 1,000,000 events
    .venv/bin/python -m benchmarks.rebuild --events 200000 --mode threads
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.projections_sql import _mysql_database, build_log, peak_rss_mib, percentile

Marks = list[tuple[int, float]]  # (position, wall time)


def append_live(url: str, rate: float, seconds: float, out: str) -> None:
    """Append synthetic trading at ``rate`` events/s; record (last position, commit time)."""
    from infra.eventstore.factory import open_event_store
    from tests.fixtures.synthetic import SyntheticLog

    store = open_event_store(url)
    log = SyntheticLog(
        seed=99, account="acct-live", run_prefix="live", symbols=("SOLUSDT", "XRPUSDT")
    )
    marks: Marks = []
    chunk = max(1, int(rate / 50))  # append about every 20 ms, as a busy engine would
    pending: list[Any] = []
    started = time.time()
    sent = 0
    for batch in log.batches(int(rate * seconds)):
        pending += batch
        if len(pending) < chunk:
            continue
        result = store.append(pending)
        marks.append((result.positions[-1], time.time()))
        sent += len(pending)
        pending = []
        elapsed = time.time() - started
        if elapsed >= seconds:
            break
        ahead = sent / rate - elapsed
        if ahead > 0:
            time.sleep(ahead)
    store.close()
    Path(out).write_text(
        json.dumps({"marks": marks, "sent": sent, "seconds": time.time() - started})
    )


def serve(names: list[str], urls: dict[str, str], work: Path, tag: str, args: Any) -> None:
    """Worker: reset ``names``, catch up (timed), follow until ``stop.json``, report marks."""
    from infra.eventstore.factory import open_event_store
    from infra.settings import load_settings
    from projections.registry import open_projections
    from projections.runner import ProjectionRunner

    projections = open_projections(load_settings(**urls), names or None)
    store = open_event_store(urls["event_store"])
    applied: dict[str, Marks] = {p.name: [] for p in projections}

    def on_applied(name: str, position: int) -> None:
        applied[name].append((position, time.time()))

    for projection in projections:
        projection.reset()
    runner = ProjectionRunner(
        store,
        projections,
        batch_size=args.batch_size,
        poll_seconds=args.poll,
        on_applied=on_applied,
    )
    started = time.time()
    target = runner.catch_up()
    finished = {name: marks[-1][1] if marks else started for name, marks in applied.items()}
    (work / f"ready-{tag}.json").write_text(
        json.dumps(
            {
                "started": started,
                "finished": finished,
                "events": target,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )
    for marks in applied.values():
        marks.clear()
    follower = threading.Thread(target=runner.follow, daemon=True)
    follower.start()
    stop = work / "stop.json"
    while not stop.exists():
        time.sleep(0.05)
    final = json.loads(stop.read_text())["head"]
    deadline = time.time() + 180
    while time.time() < deadline and any(
        not marks or marks[-1][0] < final for marks in applied.values()
    ):
        time.sleep(0.05)
    runner.stop()
    follower.join(60)
    (work / f"result-{tag}.json").write_text(json.dumps({"applied": applied}))
    for projection in projections:
        projection.close()
    store.close()


def _stats(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values, default=0.0), digits),
    }


def _lag_seconds(applied: Marks, appends: Marks) -> list[float]:
    positions = [position for position, _ in applied]
    lags = []
    for position, appended_at in appends:
        index = bisect.bisect_left(positions, position)
        if index < len(positions):
            lags.append(applied[index][1] - appended_at)
    return lags


def _lag_events(applied: Marks, heads: Marks, caught_up: int) -> list[float]:
    times = [moment for _, moment in applied]
    lags = []
    for head, moment in heads:
        index = bisect.bisect_right(times, moment)
        done = applied[index - 1][0] if index else caught_up
        lags.append(float(max(0, head - done)))
    return lags


def _wait_for(paths: list[Path], workers: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.time() + timeout
    while not all(path.exists() for path in paths):
        failed = [w.args for w in workers if w.poll() not in (None, 0)]
        if failed or time.time() > deadline:
            raise RuntimeError(f"workers failed or timed out: {failed}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sql", default="mysql", choices=["mysql", "sqlite"])
    parser.add_argument("--only", default="", help="comma list of read models (default: all)")
    parser.add_argument("--mode", default="processes", choices=["processes", "threads"])
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--poll", type=float, default=0.1, help="SQLite follow poll interval")
    parser.add_argument("--log", help="reuse this SQLite event store (it is appended to!)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # worker: JSON of names/urls/work/tag
    args = parser.parse_args()
    if args.serve:
        job = json.loads(args.serve)
        serve(job["names"], job["urls"], Path(job["work"]), job["tag"], args)
        return

    from infra.eventstore.factory import open_event_store
    from projections.registry import available

    work = Path(tempfile.mkdtemp(prefix="lh-bench-rebuild-"))
    log = (
        {"url": args.log, "reused": True}
        if args.log
        else build_log(work / "events.sqlite", args.events)
    )
    drop = None
    if args.sql == "mysql":
        sql_url, drop = _mysql_database()
    else:
        sql_url = f"sqlite:///{work / 'readmodel.sqlite'}"
    urls = {
        "event_store": log["url"],
        "sql_url": sql_url,
        "clickhouse_url": f"chdb://{work / 'analytics'}",
        "object_store": f"file://{work / 'objects'}",
    }
    names = [n for n in args.only.split(",") if n] or available()
    groups = [[name] for name in names] if args.mode == "processes" else [names]
    started = time.time()
    workers = []
    for index, group in enumerate(groups):
        job = json.dumps({"names": group, "urls": urls, "work": str(work), "tag": str(index)})
        command = [
            sys.executable,
            "-m",
            "benchmarks.rebuild",
            "--serve",
            job,
            "--batch-size",
            str(args.batch_size),
            "--poll",
            str(args.poll),
        ]
        workers.append(subprocess.Popen(command))
    ready_files = [work / f"ready-{index}.json" for index in range(len(groups))]
    _wait_for(ready_files, workers, 3_600)
    ready = [json.loads(path.read_text()) for path in ready_files]
    finished = {name: at for report in ready for name, at in report["finished"].items()}
    target = ready[0]["events"]

    # --- live: appends in another process while the workers follow ---------------------------
    store = open_event_store(log["url"])
    marks_file = work / "marks.json"
    appender = multiprocessing.get_context("spawn").Process(
        target=append_live, args=(log["url"], args.rate, args.seconds, str(marks_file))
    )
    heads: Marks = []
    appender.start()
    while appender.is_alive():
        heads.append((store.head(), time.time()))
        time.sleep(0.05)
    appender.join()
    live = json.loads(marks_file.read_text())
    final = store.head()
    store.close()
    (work / "stop.json").write_text(json.dumps({"head": final}))
    for worker in workers:
        worker.wait(300)
    applied: dict[str, Marks] = {}
    for index in range(len(groups)):
        result = json.loads((work / f"result-{index}.json").read_text())
        applied |= {name: [tuple(m) for m in marks] for name, marks in result["applied"].items()}
    if drop is not None:
        drop()
    shutil.rmtree(work, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": "rebuild",
                "machine": {"cpus": os.cpu_count()},
                "event_log_build": log,
                "read_models": names,
                "mode": args.mode,
                "sql_backend": args.sql,
                "rebuild": {
                    "events": target,
                    "seconds": round(max(finished.values()) - started, 2),
                    "events_per_second": round(target / (max(finished.values()) - started)),
                    "finished_after_seconds": {
                        n: round(at - started, 2) for n, at in finished.items()
                    },
                    "worker_peak_rss_mib": [round(report["peak_rss_mib"], 1) for report in ready],
                },
                "live": {
                    "target_rate": args.rate,
                    "achieved_rate": round(live["sent"] / live["seconds"]),
                    "seconds": round(live["seconds"], 1),
                    "events": live["sent"],
                    "all_applied": all(
                        marks and marks[-1][0] >= final for marks in applied.values()
                    ),
                    "lag_events": {
                        n: _stats(_lag_events(applied[n], heads, target), 0) for n in names
                    },
                    "lag_seconds": {
                        n: _stats(_lag_seconds(applied[n], live["marks"])) for n in names
                    },
                },
                "targets": {"rebuild_1m_seconds": 90, "lag_seconds": 1.0},
            }
        )
    )


if __name__ == "__main__":
    main()
