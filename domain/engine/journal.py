"""Turns facts into ``NewEvent``s with deterministic ids and stream versions, in batches.

Event ids are ``domain.ids.event_id(run_id, sequence)``, so re-running the same run produces
the same ids and the event store recognises a retried batch as already recorded.
"""

from __future__ import annotations

from domain.engine.ports import EventSink
from domain.events.base import DomainEvent
from domain.events.codec import encoded_event
from domain.events.envelope import Actor, NewEvent
from domain.ids import event_id as make_event_id


class Journal:
    """Buffers the events of one run and hands them to the sink on ``flush``."""

    def __init__(
        self,
        run_id: str,
        sink: EventSink,
        *,
        versions: dict[str, int] | None = None,
        sequence: int = 0,
    ) -> None:
        self.run_id = run_id
        self.sink = sink
        self.versions: dict[str, int] = dict(versions or {})
        self.sequence = sequence
        self.pending: list[NewEvent] = []
        self.flushed = 0

    def record(
        self,
        stream_id: str,
        payload: DomainEvent,
        time_us: int,
        actor: Actor,
        causation_id: str | None = None,
    ) -> str:
        """Append one event to the batch; returns its id. Positional: called for every event."""
        versions = self.versions
        version = versions[stream_id] = versions.get(stream_id, 0) + 1
        sequence = self.sequence = self.sequence + 1
        event_id = make_event_id(self.run_id, sequence)
        self.pending.append(
            encoded_event(
                (stream_id, version, payload, event_id, time_us, actor, causation_id, self.run_id)
            )
        )
        return event_id

    def flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.sink.append(batch)
            self.flushed += len(batch)
