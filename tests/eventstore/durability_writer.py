"""Child process for the durability test: append events and print each acknowledged position.

Usage: python -m tests.eventstore.durability_writer URL PREFIX COUNT BATCH

Each line is ``<position> <sha256 of the stored state>``, flushed as soon as Redis acknowledged
the batch, so the parent knows exactly what was promised before it kills the server.
"""

from __future__ import annotations

import hashlib
import sys

from domain.events.codec import encode
from infra.eventstore.factory import open_event_store
from tests.eventstore.events import venue_event

RECORDED_AT = 1_700_000_000_000_000


def main(url: str, prefix: str, count: int, batch: int) -> None:
    store = open_event_store(url, key_prefix=prefix, clock=lambda: RECORDED_AT, live=True)
    version = 0
    while version < count:
        events = [venue_event("venue-crash", version + i + 1) for i in range(batch)]
        result = store.append(events)
        for position, event in zip(result.positions, events, strict=True):
            state = encode(event, RECORDED_AT).state
            sys.stdout.write(f"{position} {hashlib.sha256(state).hexdigest()}\n")
        sys.stdout.flush()
        version += batch


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
