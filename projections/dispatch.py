"""Route recorded events to a read model's handlers by event class, and skip nothing silently.

Every read model declares which catalog classes it handles (class -> handler) and which it
ignores on purpose (each with its reason next to it). A class in neither is a class someone
forgot: the read model refuses to start (``check``) and refuses the event (``handler``) rather
than skipping it, so a new event type cannot silently leave a read model behind the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from domain.events.base import DomainEvent, all_event_classes
from domain.events.envelope import RecordedEvent

H = TypeVar("H")


class UnroutedEventError(LookupError):
    """A read model neither handles nor ignores an event class of the catalog."""


class EventRoutes(Generic[H]):
    """The handled and the ignored event classes of one read model."""

    def __init__(
        self,
        read_model: str,
        handled: Mapping[type[DomainEvent], H],
        ignored: frozenset[type[DomainEvent]],
    ) -> None:
        both = handled.keys() & ignored
        if both:
            raise ValueError(f"read model {read_model} both handles and ignores {_names(both)}")
        self.read_model = read_model
        self.handled = dict(handled)
        self.ignored = ignored
        self.table: dict[type[DomainEvent], H | None] = {**handled, **dict.fromkeys(ignored)}
        """Class -> handler, ``None`` for an ignored class: the lookup hot loops inline."""

    def unrouted(self) -> list[str]:
        """The catalog classes this read model has no decision for, by name."""
        return sorted(name for name, cls in all_event_classes().items() if cls not in self.table)

    def check(self) -> None:
        """Fail when the catalog holds a class this read model neither handles nor ignores."""
        missing = self.unrouted()
        if missing:
            raise UnroutedEventError(
                f"read model {self.read_model} neither handles nor ignores "
                f"{', '.join(missing)}: add each to its HANDLED or IGNORED"
            )

    def handler(self, event: RecordedEvent) -> H | None:
        """The handler of ``event``'s class; ``None`` when the read model ignores it."""
        try:
            return self.table[event.event_class]
        except KeyError:
            raise self.unrouted_error(event) from None

    def unrouted_error(self, event: RecordedEvent) -> UnroutedEventError:
        return UnroutedEventError(
            f"read model {self.read_model} neither handles nor ignores {event.event_type} "
            f"(event at position {event.position})"
        )


def _names(classes: set[type[DomainEvent]]) -> str:
    return ", ".join(sorted(cls.__name__ for cls in classes))
