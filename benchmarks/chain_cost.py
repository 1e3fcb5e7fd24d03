"""What the live log's hash chain costs an append: with and without it, interleaved.

    python -m benchmarks.chain_cost --backend sqlite --events 30000 --batch 1000 --rounds 7
    python -m benchmarks.chain_cost --backend redis-everysec --events 30000 --batch 1000

Each round appends ``--events`` fills through the ``EventStore`` facade (encode, payload
hash, chain, store) to a fresh log twice, once as shipped and once without the chain, in
alternating order, in one process, so that a shared machine's load falls on both alike.
"Without the chain" is, on SQLite, the batched recorder with the chain left out entirely (no
head read, no hashing, no chain row: the append before issue 10); on Redis, whose script
checks the chain head, the hashing replaced by a constant (the storage of 32 bytes per entry
stays). Reports medians of wall-clock events/s and of CPU µs/event (process time, the steadier
figure on a noisy machine). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing import sqlite as library
from eventsourcing.persistence import StoredEvent

from benchmarks.eventstore import backend, batches, fills
from domain.events import chain
from domain.events.envelope import NewEvent
from infra.eventstore import sqlite as sqlite_store
from infra.eventstore.redis import recorders as redis_recorders
from infra.eventstore.store import EventStore


class UnchainedSQLiteRecorder(sqlite_store.BatchSQLiteApplicationRecorder):
    """The batched recorder as it was before the chain: positions computed, nothing hashed."""

    def _extend_chain(self, *_: Any) -> None:
        return None

    def _insert_batch(
        self, c: library.SQLiteCursor, stored_events: Sequence[StoredEvent]
    ) -> Sequence[int]:
        before = self._max_notification_id(c) or 0
        step = self._chunk_rows(c)
        for start in range(0, len(stored_events), step):
            chunk = stored_events[start : start + step]
            params: list[object] = []
            for event in chunk:
                params += (
                    sqlite_store._key(event),
                    event.originator_version,
                    event.topic,
                    event.state,
                )
            c.execute(self._insert_statement(len(chunk)), params)
        return list(range(before + 1, before + len(stored_events) + 1))


def _constant_extend(
    previous: bytes, first_position: int, records: Iterable[chain.Record]
) -> list[bytes]:
    return [chain.GENESIS] * sum(1 for _ in records)


@contextmanager
def unchained(store: EventStore) -> Iterator[None]:
    """``store`` appending without the chain (see the module docstring) while inside."""
    recorder = store.recorder
    if isinstance(recorder, sqlite_store.BatchSQLiteApplicationRecorder):
        shipped = type(recorder)
        recorder.__class__ = UnchainedSQLiteRecorder
        try:
            yield
        finally:
            recorder.__class__ = shipped
        return
    hashing = redis_recorders.__dict__["chain"]
    shipped_extend = hashing.extend
    hashing.extend = _constant_extend
    try:
        yield
    finally:
        hashing.extend = shipped_extend


def timed_append(store: EventStore, events: list[NewEvent], size: int) -> tuple[float, float]:
    """(events/s wall clock, CPU µs per event) of appending ``events`` in batches of ``size``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches(events, size):
        store.append(batch)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(events) / wall, cpu / len(events) * 1e6


def summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    rates = [s[0] for s in samples]
    cpus = [s[1] for s in samples]
    return {
        "events_per_s_median": round(statistics.median(rates)),
        "events_per_s_min": round(min(rates)),
        "events_per_s_max": round(max(rates)),
        "cpu_us_per_event_median": round(statistics.median(cpus), 3),
        "cpu_us_per_event_best": round(min(cpus), 3),
    }


def measure(
    open_store: Callable[[str], EventStore], count: int, size: int, rounds: int
) -> dict[str, Any]:
    samples: dict[str, list[tuple[float, float]]] = {"chain": [], "no_chain": []}
    for n in range(rounds + 1):  # round 0 warms caches and the interpreter up, not counted
        order = ("chain", "no_chain") if n % 2 else ("no_chain", "chain")
        for variant in order:
            events = fills(count, f"{variant}{n}")
            store = open_store(f"{variant}{n}")
            if variant == "chain":
                result = timed_append(store, events, size)
            else:
                with unchained(store):
                    result = timed_append(store, events, size)
            store.close()
            if n:
                samples[variant].append(result)
    with_chain, without = summary(samples["chain"]), summary(samples["no_chain"])
    return {
        "chain": with_chain,
        "no_chain": without,
        "cpu_change_pct": round(
            (with_chain["cpu_us_per_event_median"] / without["cpu_us_per_event_median"] - 1) * 100,
            1,
        ),
        "wall_change_pct": round(
            (with_chain["events_per_s_median"] / without["events_per_s_median"] - 1) * 100, 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "redis-everysec"), default="sqlite")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="lh-chain-cost-") as directory,
        backend(args.backend, Path(directory)) as bench,
    ):
        result = measure(bench.open, args.events, args.batch, args.rounds)
    print(
        json.dumps(
            {
                "benchmark": "chain_cost",
                "backend": args.backend,
                "events": args.events,
                "batch": args.batch,
                "rounds": args.rounds,
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
