"""Cost of the live log's hash chain alone: ``domain/events/chain.extend`` per event.

    python -m benchmarks.chain_hash --events 100000 --repeat 7

Hashes the stored records of realistic fills (~600-byte state, as ``benchmarks.eventstore``
appends them) and reports CPU time per event (process time: the figure other jobs on the
machine disturb least), median and best of ``--repeat`` passes. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks.eventstore import RECORDED_AT, fills
from domain.events import chain
from domain.events.codec import encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    stored = [encode(event, RECORDED_AT) for event in fills(args.events, "chain")]
    records = [(str(s.originator_id), s.originator_version, s.topic, s.state) for s in stored]
    per_event: list[float] = []
    for _ in range(args.repeat):
        started = time.process_time()
        chain.extend(chain.GENESIS, 1, records)
        per_event.append((time.process_time() - started) / args.events * 1e6)
    print(
        json.dumps(
            {
                "events": args.events,
                "mean_state_bytes": round(sum(len(r[3]) for r in records) / args.events),
                "extend_cpu_us_per_event_median": round(statistics.median(per_event), 3),
                "extend_cpu_us_per_event_best": round(min(per_event), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
