"""The base of every recorded fact, the registry of event types and their upcasters.

An event class names one fact in the past tense. Its ``schema_version`` says which shape of the
payload it writes; older shapes stay readable through upcasters registered here, so stored
events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UnknownEventTypeError(LookupError):
    """A stored event names a type this build does not know."""


class EventValue(BaseModel):
    """An immutable value nested inside an event (a rule outcome, an order intent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DomainEvent(BaseModel):
    """An immutable fact. Subclasses declare fields; the envelope carries identity and time."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    schema_version: ClassVar[int] = 1
    _registry: ClassVar[dict[str, type[DomainEvent]]] = {}
    _upcasters: ClassVar[dict[tuple[str, int], Upcaster]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        if name in DomainEvent._registry:
            raise TypeError(f"event type {name} is defined twice")
        DomainEvent._registry[name] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__


def event_class(event_type: str) -> type[DomainEvent]:
    try:
        return DomainEvent._registry[event_type]
    except KeyError:
        raise UnknownEventTypeError(f"unknown event type {event_type!r}") from None


def all_event_classes() -> dict[str, type[DomainEvent]]:
    return dict(DomainEvent._registry)


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the function that lifts a payload from ``from_version`` to the next version."""

    def register(function: Upcaster) -> Upcaster:
        DomainEvent._upcasters[(event_type, from_version)] = function
        return function

    return register


def upcast(event_type: str, version: int, payload: Payload) -> Payload:
    """Lift a stored payload to the current schema version of its class, one step at a time."""
    target = event_class(event_type).schema_version
    if version > target:
        raise ValueError(
            f"{event_type} v{version} was written by a newer build "
            f"(this build reads up to v{target})"
        )
    while version < target:
        try:
            step = DomainEvent._upcasters[(event_type, version)]
        except KeyError:
            raise ValueError(f"no upcaster for {event_type} v{version}") from None
        payload = step(payload)
        version += 1
    return payload
