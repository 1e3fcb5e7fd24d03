"""`lh audit verify` benchmark: the whole-log integrity check over a synthetic log.

    python -m benchmarks.audit_verify --events 1000000
    python -m benchmarks.audit_verify --events 200000 --backend redis

Builds a synthetic trading log (``tests/fixtures/synthetic.py``) of ``--events`` events in a fresh
store (SQLite in a temp dir, or Redis under a fresh prefix on the machine's Redis), appended
in batches of about 2,000, then times ``verify_log`` (what `lh audit verify` runs: positions,
stream versions, unique ids, payload hashes, event hashes and chain links). Prints one JSON
object; the build is reported separately.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from domain.events.envelope import NewEvent
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.integrity import verify_log
from tests.eventstore.redis_support import delete_prefix
from tests.fixtures.synthetic import SyntheticLog
from tests.services import REDIS_URL


def build(store: EventStore, events: int) -> float:
    """Append about ``events`` synthetic events; the seconds it took."""
    log = SyntheticLog(seed=7, account="acct-bench", run_prefix="bench")
    started = time.perf_counter()
    pending: list[NewEvent] = []
    total = 0
    for batch in log.batches(events):
        pending += batch
        if len(pending) >= 2_000 or total + len(pending) >= events:
            take = pending[: events - total]
            store.append(take)
            total += len(take)
            pending = []
            if total >= events:
                break
    return time.perf_counter() - started


def run(backend: str, events: int, directory: Path) -> dict[str, Any]:
    prefix = f"lhbench-{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        store = open_event_store(f"sqlite:///{directory / 'events.sqlite'}")
    else:
        store = open_event_store(REDIS_URL, key_prefix=prefix)
    try:
        build_seconds = build(store, events)
        started = time.perf_counter()
        report = verify_log(store)
        seconds = time.perf_counter() - started
    finally:
        store.close()
        if backend == "redis":
            delete_prefix(prefix)
    return {
        "events": report.events,
        "build_seconds": round(build_seconds, 2),
        "verify_seconds": round(seconds, 2),
        "verify_events_per_s": round(report.events / seconds),
        "findings": len(report.findings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "redis"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        result = run(args.backend, args.events, Path(directory))
    print(
        json.dumps(
            {
                "benchmark": "audit_verify",
                "backend": args.backend,
                "python": platform.python_version(),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
