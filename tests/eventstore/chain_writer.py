"""Child process for the chain tests: append batches to one stream, as one of several writers.

Usage: python -m tests.eventstore.chain_writer URL PREFIX STREAM COUNT BATCH [BATCH ...]

Batch sizes cycle through the given ones (on SQLite, below 64 rows the library's row-by-row
path runs, from 64 the batched one), so concurrent writers interleave both paths.
"""

from __future__ import annotations

import sys
from itertools import cycle

from infra.eventstore.factory import open_event_store
from tests.eventstore.events import venue_event


def main(url: str, prefix: str, stream: str, count: int, batches: list[int]) -> None:
    store = open_event_store(url, key_prefix=prefix)
    version = 0
    sizes = cycle(batches)
    while version < count:
        size = min(next(sizes), count - version)
        store.append([venue_event(stream, version + i + 1) for i in range(size)])
        version += size
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), [int(a) for a in sys.argv[5:]])
