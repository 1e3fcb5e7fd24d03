"""Canonical bytes for events: the same event always serializes to the same bytes and hash.

Canonical JSON is defined as the standard library's
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``:
compact, keys sorted, UTF-8, decimals as strings. orjson writes exactly those bytes for the
values events hold (str keys, str/int/bool/null, lists and objects; ints within 64 bits) and
is several times faster; tests/test_codec_canonical.py proves the two agree on random values.
The payload hash covers the payload exactly as stored (before any upcast), so an auditor can
recompute it from the log with nothing but the standard library.

A payload's canonical form is that of ``model.model_dump(mode="json")``. ``payload_json``
writes it straight from the model's fields with orjson (Decimals as ``str``, enums by value,
UTC datetimes with ``Z``, nested models as their fields), several times faster than building
pydantic's JSON dict first; tests/test_codec_canonical.py proves the bytes are identical.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import orjson
from eventsourcing.persistence import Notification, StoredEvent
from pydantic import BaseModel

from domain.events.base import DomainEvent, event_class, upcast
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.types import ActorKind

_SORTED = orjson.OPT_SORT_KEYS


class CorruptEventError(ValueError):
    """Stored bytes do not decode, or their payload no longer matches its hash."""


def canonical_json(value: Any) -> bytes:
    return orjson.dumps(value, option=_SORTED)


PAYLOAD_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z
PRESORTED_OPTIONS = orjson.OPT_UTC_Z
"""For a payload whose dicts (its fields and every nested dict) are already in sorted key
order: the same bytes as ``PAYLOAD_OPTIONS`` without orjson sorting them again."""


def payload_value(value: Any) -> Any:
    """What orjson cannot write itself, as pydantic's JSON mode writes it."""
    if type(value) is Decimal:
        return str(value)
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"cannot encode {type(value).__name__} in an event payload")


def payload_json(model: BaseModel) -> bytes:
    """Canonical bytes of an event payload, equal to ``canonical_json(model.model_dump(
    mode="json"))``."""
    return orjson.dumps(model.__dict__, default=payload_value, option=PAYLOAD_OPTIONS)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


@lru_cache(maxsize=4_096)
def _actor_json(actor: Actor) -> orjson.Fragment:
    return orjson.Fragment(canonical_json(actor.as_dict()))


class SerializedEvent(NamedTuple):
    """A ``NewEvent`` with its payload already in canonical bytes: everything else in its
    stored form is cheap to add, so another process can finish the job (``stored_form``)."""

    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: bytes
    event_id: str
    event_time_us: int
    actor: Actor
    causation_id: str | None
    correlation_id: str | None


SerializedRow = tuple[
    str, int, str, int, bytes, str, int, Actor, "str | None", "str | None"
]  # ``SerializedEvent``'s fields as a plain tuple


_KINDS: dict[type[DomainEvent], tuple[str, int]] = {}


def _kind(cls: type[DomainEvent]) -> tuple[str, int]:
    kind = _KINDS[cls] = (cls.event_type(), cls.schema_version)
    return kind


class EncodedEvent(NewEvent):
    """A ``NewEvent`` whose serialized row (``serialized_row``) was made when it was recorded:
    the recorder knows then whether the payload was built in sorted key order
    (``PRESORTED_OPTIONS``), and a flush only hands the rows on. It is a ``NewEvent`` in every
    other respect (fields, equality, pickling); a changed copy (``_replace``) has no row and
    is encoded again when it is serialized."""

    row: SerializedRow


_new_tuple = tuple.__new__  # a named tuple without its Python-level ``__new__``
_dumps = orjson.dumps


def encoded_event(
    fields: tuple[str, int, DomainEvent, str, int, Actor, str | None, str | None],
    options: int = PAYLOAD_OPTIONS,
) -> EncodedEvent:
    """An ``EncodedEvent`` of ``NewEvent``'s ``fields``: the payload's canonical bytes and the
    row are made here, once. ``options``: ``PRESORTED_OPTIONS`` for a payload built with every
    dict in sorted key order."""
    stream_id, version, payload, event_id, time_us, actor, causation_id, correlation_id = fields
    cls = type(payload)
    event_type, schema_version = _KINDS.get(cls) or _kind(cls)
    event = _new_tuple(EncodedEvent, fields)
    event.row = (
        stream_id,
        version,
        event_type,
        schema_version,
        _dumps(payload.__dict__, default=payload_value, option=options),  # payload_json
        event_id,
        time_us,
        actor,
        causation_id,
        correlation_id,
    )
    return event


def serialized_row(event: NewEvent) -> SerializedRow:
    """``serialize`` as a plain tuple: what a pipe carries (pickle writes plain tuples in C,
    a named tuple costs it a Python call each). A class's type and schema version are read
    once per process; an ``EncodedEvent`` already holds its row."""
    row: SerializedRow | None = getattr(event, "row", None)
    if row is not None:
        return row
    model = event.payload
    cls = type(model)
    event_type, schema_version = _KINDS.get(cls) or _kind(cls)
    return (
        event.stream_id,
        event.stream_version,
        event_type,
        schema_version,
        _dumps(model.__dict__, default=payload_value, option=PAYLOAD_OPTIONS),  # payload_json
        event.event_id,
        event.event_time_us,
        event.actor,
        event.causation_id,
        event.correlation_id,
    )


_as_serialized = tuple.__new__  # ``SerializedEvent._make`` without its Python-level call


def serialize(event: NewEvent) -> SerializedEvent:
    return _as_serialized(SerializedEvent, serialized_row(event))


def stored_form(event: SerializedEvent, recorded_time_us: int) -> StoredEvent:
    """The envelope around the payload bytes, which are hashed and spliced in as they are."""
    payload = event.payload
    state = {
        "actor": _actor_json(event.actor),
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "event_id": event.event_id,
        "event_time_us": event.event_time_us,
        "payload": orjson.Fragment(payload),
        "payload_hash": hashlib.sha256(payload).hexdigest(),
        "recorded_time_us": recorded_time_us,
        "schema_version": event.schema_version,
    }
    return StoredEvent(
        event.stream_id, event.stream_version, event.event_type, canonical_json(state)
    )


def encode(event: NewEvent, recorded_time_us: int) -> StoredEvent:
    """The stored form of ``event``."""
    return stored_form(serialize(event), recorded_time_us)


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
        event_class=event_class(notification.topic),
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
