"""Canonical bytes for events: the same event always serializes to the same bytes and hash.

Canonical JSON is defined as the standard library's
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``:
compact, keys sorted, UTF-8, decimals as strings. orjson writes exactly those bytes for the
values events hold (str keys, str/int/bool/null, lists and objects; ints within 64 bits) and
is several times faster; tests/test_codec_canonical.py proves the two agree on random values.
The payload hash covers the payload exactly as stored (before any upcast), so an auditor can
recompute it from the log with nothing but the standard library.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson
from eventsourcing.persistence import Notification, StoredEvent

from domain.events.base import upcast
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.types import ActorKind

_SORTED = orjson.OPT_SORT_KEYS


class CorruptEventError(ValueError):
    """Stored bytes do not decode, or their payload no longer matches its hash."""


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=_SORTED)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@lru_cache(maxsize=4_096)
def _actor_json(actor: Actor) -> orjson.Fragment:
    return orjson.Fragment(canonical_json(actor.as_dict()))


def encode(event: NewEvent, recorded_time_us: int) -> StoredEvent:
    """The stored form of ``event``; the payload is serialized once, hashed, and spliced in."""
    model = event.payload
    payload = canonical_json(model.__pydantic_serializer__.to_python(model, mode="json"))
    state = {
        "actor": _actor_json(event.actor),
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "event_id": event.event_id,
        "event_time_us": event.event_time_us,
        "payload": orjson.Fragment(payload),
        "payload_hash": hashlib.sha256(payload).hexdigest(),
        "recorded_time_us": recorded_time_us,
        "schema_version": model.schema_version,
    }
    return StoredEvent(
        originator_id=event.stream_id,
        originator_version=event.stream_version,
        topic=model.event_type(),
        state=canonical_json(state),
    )


@lru_cache(maxsize=4_096)
def _actor(kind: str, name: str, account: str) -> Actor:
    """Actors repeat across millions of events: share one immutable instance per actor."""
    return Actor(ActorKind(kind), name, account)


def decode(notification: Notification, *, verify: bool = False) -> RecordedEvent:
    """Turn a stored notification into a ``RecordedEvent``; ``verify`` rechecks the payload hash."""
    try:
        state = orjson.loads(notification.state)
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
        actor=_actor(actor["kind"], actor["name"], actor["account"]),
        payload_hash=state["payload_hash"],
        data=upcast(notification.topic, stored_version, payload),
        state=notification.state,
    )
