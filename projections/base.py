"""The contract every read model keeps, so one runner can drive them all.

A projection owns its checkpoint and stores it with its rows: applying a batch and moving the
checkpoint happen together (one SQL transaction; position-deduplicated inserts in ClickHouse;
deterministic keys in the object store), so a crash never applies an event twice or skips one.
It also records, with its checkpoint, the identity of the event store it was built from, so
that it can refuse to be fed another store's log (``projections.registry.bind_to_store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.events.envelope import RecordedEvent


class Projection(Protocol):
    name: str

    def checkpoint(self) -> int:
        """The highest global position already applied (0 when empty)."""
        ...

    def source(self) -> str | None:
        """The identity of the event store the rows were built from; ``None`` if not recorded."""
        ...

    def attach(self, store_id: str) -> None:
        """Record ``store_id`` as the source with every checkpoint from now on, and at once if
        rows were applied but no source recorded (a read model built before store identities).
        The caller has checked that it may: see ``projections.registry.bind_to_store``."""
        ...

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        """Apply events in position order and advance the checkpoint to the last one, atomically.

        Events at or below the checkpoint must be ignored (re-delivery is normal).
        """
        ...

    def reset(self) -> None:
        """Drop every row and the checkpoint, ready for a rebuild from position 0."""
        ...

    def close(self) -> None: ...
