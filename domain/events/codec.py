"""Canonical bytes for events: the same event always serializes to the same bytes and hash.

Stored state is compact, key-sorted JSON with decimals as strings. The payload hash covers the
payload exactly as stored (before any upcast), so an auditor can recompute it from the log.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent

from domain.events.base import upcast
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.types import ActorKind


class CorruptEventError(ValueError):
    """Stored bytes do not decode, or their payload no longer matches its hash."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def encode(event: NewEvent, recorded_time_us: int) -> StoredEvent:
    payload = event.payload.model_dump(mode="json")
    state = {
        "actor": event.actor.as_dict(),
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "event_id": event.event_id,
        "event_time_us": event.event_time_us,
        "payload": payload,
        "payload_hash": payload_hash(payload),
        "recorded_time_us": recorded_time_us,
        "schema_version": event.payload.schema_version,
    }
    return StoredEvent(
        originator_id=event.stream_id,
        originator_version=event.stream_version,
        topic=event.payload.event_type(),
        state=canonical_json(state),
    )


def decode(notification: Notification, *, verify: bool = False) -> RecordedEvent:
    """Turn a stored notification into a ``RecordedEvent``; ``verify`` rechecks the payload hash."""
    try:
        state = json.loads(notification.state)
        payload = state["payload"]
        stored_version = int(state["schema_version"])
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptEventError(
            f"event at position {notification.id} ({notification.topic}) does not decode: {error}"
        ) from error
    if verify and payload_hash(payload) != state["payload_hash"]:
        raise CorruptEventError(
            f"event at position {notification.id} ({notification.topic}) fails its payload hash"
        )
    actor = state["actor"]
    return RecordedEvent(
        position=notification.id,
        stream_id=str(notification.originator_id),
        stream_version=notification.originator_version,
        event_type=notification.topic,
        stored_schema_version=stored_version,
        event_id=state["event_id"],
        event_time_us=state["event_time_us"],
        recorded_time_us=state["recorded_time_us"],
        causation_id=state["causation_id"],
        correlation_id=state["correlation_id"],
        actor=Actor(ActorKind(actor["kind"]), actor["name"], actor["account"]),
        payload_hash=state["payload_hash"],
        data=upcast(notification.topic, stored_version, payload),
        state=notification.state,
    )
