"""Synthetic events as the log would give them back, without an event store round trip.

Each ``NewEvent`` goes through the real codec (encode, then decode with a gapless position),
so projections see exactly what ``EventStore.read_all`` yields, minus the SQLite I/O.
"""

from __future__ import annotations

from functools import cache

from eventsourcing.persistence import Notification

from domain.events.codec import decode, encode
from domain.events.envelope import RecordedEvent
from tests.fixtures.synthetic import SyntheticLog


@cache
def synthetic_events(bars: int, seed: int = 7) -> tuple[RecordedEvent, ...]:
    events: list[RecordedEvent] = []
    for batch in SyntheticLog(seed=seed).batches(bars):
        for new in batch:
            stored = encode(new, new.event_time_us)
            notification = Notification(
                originator_id=stored.originator_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=stored.state,
                id=len(events) + 1,
            )
            events.append(decode(notification))
    return tuple(events)


def chunks(events: tuple[RecordedEvent, ...], size: int) -> list[list[RecordedEvent]]:
    return [list(events[start : start + size]) for start in range(0, len(events), size)]
