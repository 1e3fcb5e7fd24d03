"""The in-process event sink: each batch appended through the store before the run goes on."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.events.envelope import NewEvent
from infra.eventstore.store import EventStore


class StoreSink:
    """Appends each batch through ``EventStore.append`` and remembers the positions it got.

    ``guard`` runs before each append and raises to stop it (the run lease's ``check``)."""

    def __init__(self, store: EventStore, *, guard: Callable[[], None] | None = None) -> None:
        self.store = store
        self.guard = guard
        self.first_position = 0
        self.last_position = 0
        self.appended = 0
        self.duplicates = 0

    def __enter__(self) -> StoreSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Nothing to drain: every ``append`` has returned once it was recorded."""

    def append(self, events: Sequence[NewEvent]) -> None:
        if self.guard is not None:
            self.guard()
        result = self.store.append(events)
        if result.duplicate:
            self.duplicates += len(events)
            return
        if result.positions:
            self.first_position = self.first_position or result.positions[0]
            self.last_position = result.positions[-1]
        self.appended += len(events)
