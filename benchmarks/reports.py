"""Report generation time over a month of 1-minute trading (>= 1,000,000 events).

Builds a synthetic log (``tests.fixtures.synthetic``, two strategies on two symbols, every
minute) in a SQLite event store and its SQL read model, then times ``generate_report`` (build
from the read model and the log, replay of every figure from the log, chain check, render in every
format, publish to a local object store) for each registered report kind over January 2024.
Prints ONE JSON object.

    .venv/bin/python -m benchmarks.reports                      # 1,000,000 events
    .venv/bin/python -m benchmarks.reports --events 200000 --dir /tmp/lh-bench-reports
    .venv/bin/python -m benchmarks.reports --dir /tmp/lh-bench-reports --kind compliance
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.projections_sql import build_log

MONTH = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the PDF is printed
    in one, the replay folded in another): comparable across runs on a shared machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + child_cpu_seconds()


def child_cpu_seconds() -> float:
    """The finished children's share: what ran beside this process, off its critical path."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _read_model(folder: Path, log_url: str) -> tuple[Any, Any, dict[str, Any]]:
    from infra.eventstore.factory import open_event_store
    from projections.registry import bind_to_store
    from projections.runner import ProjectionRunner
    from projections.sql.projection import SqlProjection

    store = open_event_store(log_url)
    sql = SqlProjection.open(f"sqlite:///{folder / 'readmodel.sqlite'}", create=True)
    bind_to_store([sql], store)
    started = time.perf_counter()
    head = ProjectionRunner(store, [sql], batch_size=20_000).catch_up()
    return store, sql, {"position": head, "seconds": round(time.perf_counter() - started, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="Keep (and reuse) the log and read model here.")
    parser.add_argument(
        "--kind", action="append", help="Time only this report kind (repeatable; default all)."
    )
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="lh-bench-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "events.sqlite"
    built = None if log_path.exists() else build_log(log_path, args.events)

    from adapters.objectstore import open_object_store
    from api.application.reporting.formats import FORMATS
    from api.application.reporting.generate import ReportRequest, generate_report
    from api.application.reporting.kinds import KINDS
    from projections.queries.reports.source import ReportScope

    store, sql, read_model = _read_model(folder, f"sqlite:///{log_path}")
    reports: dict[str, Any] = {}
    for kind in args.kind or KINDS:
        objects = open_object_store(f"file://{tempfile.mkdtemp(prefix='lh-bench-objects-')}")
        request = ReportRequest(ReportScope(kind, *MONTH), FORMATS)
        started, cpu_started, child_started = (
            time.perf_counter(),
            cpu_seconds(),
            child_cpu_seconds(),
        )
        report = generate_report(request, store, sql.engine, objects, now=lambda: datetime.now(UTC))
        reports[kind] = {
            "seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(cpu_seconds() - cpu_started, 2),
            "child_cpu_seconds": round(child_cpu_seconds() - child_started, 2),
            "figures": report.manifest["cross_check"]["figures"],
            "positions": [
                report.manifest["log"]["first_position"],
                report.manifest["log"]["last_position"],
            ],
            "bytes": {f["name"]: f["bytes"] for f in report.manifest["files"]},
        }
    print(
        json.dumps(
            {
                "benchmark": "reports",
                "log_events": store.head(),
                "log_build": built,
                "sql_read_model": read_model,
                "period": [MONTH[0].isoformat(), MONTH[1].isoformat()],
                "formats": list(FORMATS),
                "reports": reports,
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            },
            indent=2,
        )
    )
    sql.close()
    store.close()


if __name__ == "__main__":
    main()
