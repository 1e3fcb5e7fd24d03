"""Durable-log benchmark: seal, verify and restore throughput, segment sizes, compression.

Fills a temp SQLite event store with N synthetic events, seals it into a local directory (or
moto's S3 server over HTTP with ``--object-store s3``), verifies, and restores into a second
SQLite store. Prints one JSON object.

    .venv/bin/python benchmarks/seal.py [--events 200000] [--segment-size 10000] [--object-store s3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.objectstore import LocalObjectStore, ObjectStore
from adapters.objectstore.s3 import S3ObjectStore
from domain.events.envelope import NewEvent
from infra.archive import Archive, restore, seal, verify
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.fixtures.synthetic import SyntheticLog

T = TypeVar("T")


def fill(store: EventStore, events: int) -> float:
    """Append whole synthetic batches (grouped per transaction) until ``events`` are stored."""
    started = time.perf_counter()
    pending: list[NewEvent] = []
    for batch in SyntheticLog().batches(events):
        pending.extend(batch)
        if len(pending) >= 2_000:
            store.append(pending)
            pending = []
            if store.head() >= events:
                break
    if pending and store.head() < events:
        store.append(pending)
    return time.perf_counter() - started


def timed(work: Callable[[], T]) -> tuple[T, tuple[float, float]]:
    """The result of ``work`` and its (wall, CPU) seconds; CPU counts every thread."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, (time.perf_counter() - wall, time.process_time() - cpu)


@contextmanager
def object_store(kind: str, root: Path) -> Iterator[ObjectStore]:
    if kind == "local":
        yield LocalObjectStore(root / "objects")
        return
    from tests.services import s3_server

    with s3_server() as server:
        yield S3ObjectStore.from_url(server.url("bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--segment-size", type=int, default=10_000)
    parser.add_argument("--object-store", choices=["local", "s3"], default="local")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        store = open_event_store(f"sqlite:///{root / 'events.sqlite'}")
        fill_seconds = fill(store, args.events)
        head = store.head()
        with object_store(args.object_store, root) as objects:
            archive = Archive(objects, "bench")

            sealed, seal_t = timed(lambda: seal(store, archive, segment_size=args.segment_size))
            checked, verify_t = timed(lambda: verify(archive))
            assert checked.ok, checked.problems
            against, against_t = timed(lambda: verify(archive, store=store))
            assert against.ok and against.compared == sealed.sealed_to

            target = open_event_store(f"sqlite:///{root / 'restored.sqlite'}")
            restored, restore_t = timed(lambda: restore(archive, target, tail=store))
            assert restored.last_position == head
            target.close()
        store.close()

    segments = sealed.written
    compressed = sum(entry.size for entry in segments)
    raw = sum(entry.header.raw_size for entry in segments)
    result = {
        "benchmark": "archive_seal",
        "object_store": args.object_store,
        "events_in_store": head,
        "events_sealed": sealed.sealed_to,
        "segment_size": args.segment_size,
        "segments": len(segments),
        "fill_seconds": round(fill_seconds, 2),
        "seal_seconds": round(seal_t[0], 3),
        "seal_events_per_s": round(sealed.sealed_to / seal_t[0]),
        "seal_events_per_cpu_s": round(sealed.sealed_to / seal_t[1]),
        "verify_events_per_s": round(checked.events / verify_t[0]),
        "verify_events_per_cpu_s": round(checked.events / verify_t[1]),
        "verify_against_store_events_per_s": round(against.events / against_t[0]),
        "restore_events_per_s": round(head / restore_t[0]),
        "restore_events_per_cpu_s": round(head / restore_t[1]),
        "restore_note": "includes full pre-verify, inserts and a byte-for-byte re-read",
        "segment_bytes_mean": round(compressed / len(segments)) if segments else 0,
        "raw_bytes_per_event": round(raw / sealed.sealed_to, 1) if segments else 0,
        "compressed_bytes_per_event": round(compressed / sealed.sealed_to, 1) if segments else 0,
        "compression_ratio": round(raw / compressed, 2) if compressed else 0,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
