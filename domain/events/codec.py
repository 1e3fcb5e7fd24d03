"""Canonical bytes for events: the same event always serializes to the same bytes and hash.

Stored state is compact, key-sorted JSON with decimals as strings. The payload hash covers the
payload exactly as stored (before any upcast), so an auditor can recompute it from the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from pydantic import BaseModel

from domain.events.base import DomainEvent, upcast
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


class _UnsupportedValueError(Exception):
    """A value the direct writer does not handle: the payload goes through pydantic."""


# Per model class: its fields in sorted order with their JSON key text, or None if the class
# is not written directly (custom serializers, aliases, exclusions, computed fields, or a
# value once met that only pydantic knows how to write, like a datetime).
_plans: dict[type[BaseModel], tuple[tuple[str, str], ...] | None] = {}
# Canonical text of immutable nested values (rule outcomes are shared by many decisions).
_values: dict[int, tuple[BaseModel, str]] = {}


def _plan(cls: type[BaseModel]) -> tuple[tuple[str, str], ...] | None:
    if cls in _plans:
        return _plans[cls]
    decorators = cls.__pydantic_decorators__
    fields = cls.model_fields
    direct = (
        not cls.model_computed_fields
        and not decorators.field_serializers
        and not decorators.model_serializers
        and not cls.__subclasses__()
        and all(
            f.alias is None and f.serialization_alias is None and not f.exclude
            for f in fields.values()
        )
    )
    plan = tuple((name, _string(name) + ":") for name in sorted(fields)) if direct else None
    _plans[cls] = plan
    return plan


def _value_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is Decimal:
        return '"' + str(value) + '"'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is list:
        return "[" + ",".join([_value_text(item) for item in value]) + "]"
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise _UnsupportedValueError
        return (
            "{"
            + ",".join([_string(key) + ":" + _value_text(value[key]) for key in sorted(value)])
            + "}"
        )
    if isinstance(value, Enum) and type(value.value) in (str, int):
        return _value_text(value.value)
    if isinstance(value, BaseModel):
        cached = _values.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        text, scalar = _model_text(value)
        if scalar and value.model_config.get("frozen"):
            if len(_values) >= 20_000:
                _values.clear()
            _values[id(value)] = (value, text)
        return text
    raise _UnsupportedValueError


_SCALARS = (str, Decimal, bool, int, type(None))


def _model_text(model: BaseModel) -> tuple[str, bool]:
    """The canonical JSON of ``model`` as pydantic's JSON mode would give it, and whether all
    its field values are immutable scalars."""
    plan = _plan(type(model))
    if plan is None:
        raise _UnsupportedValueError
    values = model.__dict__
    parts = []
    scalar = True
    for name, key in plan:
        value = values[name]
        if scalar and not isinstance(value, _SCALARS):
            scalar = False
        parts.append(key + _value_text(value))
    return "{" + ",".join(parts) + "}", scalar


def _payload_text(model: DomainEvent) -> str:
    """``canonical_json(model.model_dump(mode="json"))`` as text, without the dict in between
    when every value is one the writer knows; pydantic otherwise (and from then on)."""
    cls = type(model)
    if _plans.get(cls, ()) is not None and not model.__pydantic_extra__:
        try:
            return _model_text(model)[0]
        except (_UnsupportedValueError, KeyError):
            _plans[cls] = None
    return _canonical_text(model.__pydantic_serializer__.to_python(model, mode="json"))


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
        return _encode_plain(
            event, model.__pydantic_serializer__.to_python(model, mode="json"), recorded_time_us
        )
    payload_text = _payload_text(model)
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
