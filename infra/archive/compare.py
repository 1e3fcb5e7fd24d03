"""Payload identity between archived records and what the event store still holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from infra.eventstore.store import EventStore


def same_record(a: Notification, b: Notification) -> bool:
    """Position, stream id, version, topic and state bytes all equal."""
    return (
        a.id == b.id
        and str(a.originator_id) == str(b.originator_id)
        and a.originator_version == b.originator_version
        and a.topic == b.topic
        and bytes(a.state) == bytes(b.state)
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """``compared`` records matched; ``first_difference`` is the first that differs or is
    missing from the store (None if all agree)."""

    compared: int
    first_difference: int | None


def compare_with_store(records: Sequence[Notification], store: EventStore) -> Comparison:
    """Compare contiguous ``records`` with the store's records at the same positions.

    Positions below the store's first one (trimmed after sealing) are not compared; a
    position missing above it is a difference.
    """
    if not records:
        return Comparison(0, None)
    first = records[0].id
    held_from = store_first_position(store)
    if held_from is None:
        return Comparison(0, None)
    compared, expected = 0, max(first, held_from)
    last = records[-1].id
    for page in store.read_live_notifications(expected - 1, stop=last, batch_size=len(records)):
        for held in page:
            if held.id != expected or not same_record(records[expected - first], held):
                return Comparison(compared, expected)
            compared += 1
            expected += 1
    return Comparison(compared, expected if expected <= last else None)


def store_first_position(store: EventStore) -> int | None:
    """The lowest position the store still holds (Redis trims sealed events), None if empty."""
    first_position = getattr(store.recorder, "first_position", None)
    if first_position is not None:
        found = first_position()
        return None if found is None else int(found)
    return 1 if store.head() else None
