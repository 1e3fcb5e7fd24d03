"""Client CPU of the read models' in-memory work, without any database: routing by event class
and folding. Isolates what the projections' Python costs from what the databases cost (which
a loaded machine makes noisy). Prints ONE JSON object.

Per fold, the best of ``--repeat`` runs over the same decoded events (process CPU seconds):
the SQL fold (``needed_keys`` + ``BatchFold.apply`` per batch of 2,000), the ClickHouse Arrow
tables (``build_tables`` per batch of 20,000) and the log-derived state (``LogState``).

    .venv/bin/python -m benchmarks.projection_folds --events 300000
    .venv/bin/python -m benchmarks.projection_folds --log sqlite:///path/events.sqlite
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.projections_sql import build_log
from domain.events.codec import decode
from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from projections.clickhouse.rows import build_tables
from projections.queries.state import fold
from projections.sql.fold import BatchFold, needed_keys

SQL_BATCH = 2_000  # what the SQL benchmark applies per transaction
CLICKHOUSE_BATCH = 20_000  # what the ClickHouse benchmark inserts per batch


def read_events(url: str) -> list[RecordedEvent]:
    store = open_event_store(url)
    try:
        return [decode(n) for page in store.read_notifications(0) for n in page]
    finally:
        store.close()


def best_cpu_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return round(min(times), 3)


def sql_fold(events: Sequence[RecordedEvent]) -> None:
    for start in range(0, len(events), SQL_BATCH):
        batch = events[start : start + SQL_BATCH]
        needed_keys(batch)
        BatchFold().apply(batch)


def clickhouse_rows(events: Sequence[RecordedEvent]) -> None:
    for start in range(0, len(events), CLICKHOUSE_BATCH):
        build_tables(events[start : start + CLICKHOUSE_BATCH])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--log", help="reuse this SQLite event store (sqlite:///path)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lh-bench-folds-"))
    try:
        url = args.log or build_log(work / "events.sqlite", args.events)["url"]
        events = read_events(url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per_fold = {
        "sql_fold": lambda: sql_fold(events),
        "clickhouse_rows": lambda: clickhouse_rows(events),
        "log_state": lambda: fold(events),
    }
    results = {}
    for name, run in per_fold.items():
        seconds = best_cpu_seconds(run, args.repeat)
        results[name] = {
            "cpu_seconds": seconds,
            "events_per_cpu_second": round(len(events) / seconds),
        }
    print(
        json.dumps(
            {"benchmark": "projection_folds", "events": len(events), "repeat": args.repeat}
            | {"results": results}
        )
    )


if __name__ == "__main__":
    main()
