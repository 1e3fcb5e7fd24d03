"""Small builders of events for the event store tests."""

from __future__ import annotations

from domain.events.catalog import VenueConnectionChanged
from domain.events.envelope import Actor, NewEvent
from domain.events.types import ActorKind

OPERATOR = Actor(ActorKind.OPERATOR, "alice", "acct-1")


def venue_event(stream: str, version: int, *, tag: str = "", connected: bool = True) -> NewEvent:
    """An event whose id is derived from its stream, version and ``tag`` (so tests can reuse it)."""
    return NewEvent(
        stream_id=stream,
        stream_version=version,
        payload=VenueConnectionChanged(venue="sim", connected=connected, reason=f"r{version}{tag}"),
        event_id=f"{stream}:{version}{tag}",
        event_time_us=1_700_000_000_000_000 + version,
        actor=OPERATOR,
        causation_id=f"cause-{version}",
        correlation_id="corr-1",
    )
