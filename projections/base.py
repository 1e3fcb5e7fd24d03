"""The contract every read model keeps, so one runner can drive them all.

A projection owns its checkpoint and stores it with its rows: applying a batch and moving the
checkpoint happen together (one SQL transaction; position-deduplicated inserts in ClickHouse;
deterministic keys in the object store), so a crash never applies an event twice or skips one.
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

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        """Apply events in position order and advance the checkpoint to the last one, atomically.

        Events at or below the checkpoint must be ignored (re-delivery is normal).
        """
        ...

    def reset(self) -> None:
        """Drop every row and the checkpoint, ready for a rebuild from position 0."""
        ...

    def close(self) -> None: ...
