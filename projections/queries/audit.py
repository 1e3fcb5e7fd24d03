"""Audit queries answered from the log itself, never from a read model.

An auditor asks three things: why did this fill happen (walk its causation chain back to the
bar), what the state was at a given instant (by event time, or by what was recorded by then),
and has the history been altered (``projections/integrity.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore
from projections.queries.state import LogState


class AuditTargetNotFoundError(LookupError):
    """No event in the log matches what the auditor asked for."""


@dataclass(frozen=True)
class _Index:
    position_by_event_id: dict[str, int]
    cause_by_position: dict[int, str | None]
    target: int


def _scan(
    store: EventStore, matches: Callable[[RecordedEvent], bool], *, last: bool = False
) -> _Index:
    """Index event ids and causes over the whole log; the target is the first (or last) match."""
    positions: dict[str, int] = {}
    causes: dict[int, str | None] = {}
    target = 0
    for event in store.read_all():
        positions[event.event_id] = event.position
        causes[event.position] = event.causation_id
        if (last or not target) and matches(event):
            target = event.position
    if not target:
        raise AuditTargetNotFoundError("no event in the log matches the request")
    return _Index(positions, causes, target)


def _event_at(store: EventStore, position: int) -> RecordedEvent:
    return next(store.read_all(position - 1, stop=position, verify=True))


def trace(
    store: EventStore,
    *,
    fill_id: str | None = None,
    order_id: str | None = None,
    event_id: str | None = None,
) -> list[RecordedEvent]:
    """The causation chain of one event, effect first: fill -> order -> decision -> signal -> bar.

    Name exactly one of ``fill_id`` (a FillRecorded), ``order_id`` (the order's last event) or
    ``event_id``. Every link's payload hash is re-verified on the way.
    """
    if sum(value is not None for value in (fill_id, order_id, event_id)) != 1:
        raise ValueError("name exactly one of fill_id, order_id or event_id")
    if fill_id is not None:
        index = _scan(
            store, lambda e: e.event_type == "FillRecorded" and e.data["fill_id"] == fill_id
        )
    elif event_id is not None:
        index = _scan(store, lambda e: e.event_id == event_id)
    else:
        stream = f"order-{order_id}"
        index = _scan(store, lambda e: e.stream_id == stream, last=True)
    chain = []
    position: int | None = index.target
    seen: set[int] = set()
    while position is not None and position not in seen:
        seen.add(position)
        chain.append(_event_at(store, position))
        cause = index.cause_by_position.get(position)
        position = index.position_by_event_id.get(cause) if cause else None
    return chain


class Clock(StrEnum):
    """Which time an instant is measured on."""

    EVENT = "event"
    """When it happened: the venue's clock, or a backtest's bar time (simulated clock)."""
    RECORDED = "recorded"
    """When the store recorded it: what the system knew at that wall-clock instant."""


@dataclass(frozen=True)
class StateAt:
    """The state at ``instant_us`` on ``clock``: ``events`` folded in, the last at
    ``state.head`` (0 when none)."""

    clock: Clock
    instant_us: int
    events: int
    state: LogState


def state_at(store: EventStore, instant_us: int, clock: Clock) -> StateAt:
    """Orders, positions, fills and cash from every event at or before an instant.

    On the recorded clock that is a prefix of the log (recording follows position order), so
    reading stops at the first later event. On the event clock every event whose event time
    is at or before the instant counts, whenever it was recorded: a backtest recorded today
    shows its state at any of its bar times.
    """
    state, events = LogState(), 0
    for event in store.read_all():
        if clock is Clock.RECORDED:
            if event.recorded_time_us > instant_us:
                break
        elif event.event_time_us > instant_us:
            continue
        state.apply(event)
        events += 1
    return StateAt(clock, instant_us, events, state)


def iter_chain_summary(chain: list[RecordedEvent]) -> Iterator[tuple[str, ...]]:
    """Rows for a table: position, time, type, stream, actor, key facts, hash prefix."""
    for event in chain:
        facts = ", ".join(
            f"{key}={event.data[key]}"
            for key in ("symbol", "side", "quantity", "price", "approved", "reason", "close")
            if key in event.data
        )
        yield (
            str(event.position),
            event.event_time.isoformat(),
            event.event_type,
            event.stream_id,
            f"{event.actor.kind.value}:{event.actor.name}",
            facts,
            event.payload_hash[:16],
        )
