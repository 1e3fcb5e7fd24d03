"""Canonical bytes for events: the same event always serializes to the same bytes and hash.

Stored state is compact, key-sorted JSON with decimals as strings. The payload hash covers the
payload exactly as stored (before any upcast), so an auditor can recompute it from the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent

from domain.events.base import upcast
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.types import ActorKind


class CorruptEventError(ValueError):
    """Stored bytes do not decode, or their payload no longer matches its hash."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_string = json.encoder.encode_basestring  # what the encoder above writes for one str


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_canonical_text() -> Callable[[Any], str]:
    """``_CANONICAL.encode`` without its per-call set-up: one C encoder, made once.

    It is the encoder ``JSONEncoder.encode`` builds on every call, with the same options,
    except that it does not track containers to detect cycles (decoded JSON has none).
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator: the plain encoder writes the same text
        return _CANONICAL.encode
    chunks = make(None, _unserializable, _string, None, ":", ",", True, False, True)
    join = "".join

    def canonical_text(value: Any) -> str:
        if isinstance(value, str):
            return _string(value)
        return join(chunks(value, 0))

    return canonical_text


_canonical_text = _make_canonical_text()
_sha256 = hashlib.sha256
_actors: dict[Actor, str] = {}


def canonical_json(value: Any) -> bytes:
    return _canonical_text(value).encode()


def payload_hash(payload: dict[str, Any]) -> str:
    return _sha256(canonical_json(payload)).hexdigest()


def encode(event: NewEvent, recorded_time_us: int) -> StoredEvent:
    """The stored form of ``event``: ``canonical_json`` of its state, built in one pass.

    The payload's canonical JSON is computed once, hashed, and spliced into the state, which
    is written key by key in sorted order: the bytes are exactly those of
    ``canonical_json(state)`` (``tests/test_events.py`` checks both ways agree).
    """
    model = event.payload
    payload = model.__pydantic_serializer__.to_python(model, mode="json")
    schema_version = model.schema_version
    event_time_us = event.event_time_us
    causation, correlation, event_id = event.causation_id, event.correlation_id, event.event_id
    if not (
        type(event_time_us) is int
        and type(recorded_time_us) is int
        and type(schema_version) is int
        and type(event_id) is str
        and (causation is None or type(causation) is str)
        and (correlation is None or type(correlation) is str)
    ):
        return _encode_plain(event, payload, recorded_time_us)
    payload_text = _canonical_text(payload)
    payload_bytes = payload_text.encode()
    actor = _actors.get(event.actor)
    if actor is None:
        if len(_actors) >= 4_096:
            _actors.clear()
        actor = _actors[event.actor] = _canonical_text(event.actor.as_dict())
    state = "".join(
        (
            '{"actor":',
            actor,
            ',"causation_id":',
            "null" if causation is None else _string(causation),
            ',"correlation_id":',
            "null" if correlation is None else _string(correlation),
            ',"event_id":',
            _string(event_id),
            ',"event_time_us":',
            int.__repr__(event_time_us),
            ',"payload":',
            payload_text,
            ',"payload_hash":"',
            _sha256(payload_bytes).hexdigest(),
            '","recorded_time_us":',
            int.__repr__(recorded_time_us),
            ',"schema_version":',
            int.__repr__(schema_version),
            "}",
        )
    )
    return StoredEvent(
        originator_id=event.stream_id,
        originator_version=event.stream_version,
        topic=model.event_type(),
        state=state.encode(),
    )


def _encode_plain(event: NewEvent, payload: Any, recorded_time_us: int) -> StoredEvent:
    """The reference encoding: the state as a dict through ``canonical_json``."""
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
