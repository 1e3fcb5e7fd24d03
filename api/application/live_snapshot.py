"""Snapshots of a live session, so that a restart replays only the log's last events.

Every ``snapshot_every`` bar times the session pickles its engine (order book, portfolio,
risk and ledger state, the strategy with its indicators) with what the restart needs besides
(``SessionFacts``), records ``RunSnapshotSaved`` in the run's stream (the events it covers,
the SHA-256 and size of the bytes, the code that wrote them) and then puts the bytes in the
object store under ``live-snapshots/<run_id>.snapshot`` (an atomic overwrite of the previous
one), where the design keeps snapshots.

The bytes live in the object store, not in the log: they grow with the run (the equity curve,
the fills it knows), only the latest is useful, and a log that keeps every event for years
should not hold megabytes that are stale an hour later. The object store is shared like the
event store (S3 in production), so a session restarted on another machine finds them.

The event is in the log, so the bytes are checked against it: a restart reads the run's
stream from the event's version on, and loads the bytes only when they hash to what the event
recorded (unpickling runs code: bytes that do not match are never unpickled) and were written
by the same code (``code_version``). Recording the event before storing the bytes means a
crash between the two leaves the previous snapshot, which still matches its own earlier
event. Anything else (none, another run's, corrupt, other code, a strategy that cannot be
pickled) falls back to the full replay.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from pathlib import Path

import domain
from adapters.objectstore import ObjectNotFoundError, ObjectStore
from adapters.objectstore.base import ObjectStoreError
from domain.engine.engine import TradingEngine
from domain.engine.ports import Clock, EventSink, Venue
from domain.events.base import DomainEvent
from domain.events.catalog import (
    BalanceAdjusted,
    FillRecorded,
    RunSnapshotSaved,
    TradingStateChanged,
    VenueReportUnmatched,
)
from domain.events.envelope import NewEvent, RecordedEvent
from domain.events.streams import run_stream
from infra.eventstore.store import EventStore

FORMAT = "lh-live-snapshot/1"
SNAPSHOT_EVERY = 1_000
"""Bar times between two snapshots by default: a 1m session saves every 16 hours and a
restart replays at most that much (about 1,500 events, well under a second)."""
PREFIX = "live-snapshots/"
UNLOADABLE = (pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError, KeyError)
"""What unpickling bytes of the same code can still raise (a class moved or renamed)."""


class SnapshotUnusableError(Exception):
    """The snapshot cannot be used; the message says why (the restart replays the log)."""


@dataclass
class SessionFacts:
    """What a live restart needs besides the engine, read from the events as they are
    recorded (``observe``): the venue fill ids the log holds, the balance adjustments per
    currency, the time of the last fill, the last trading state change; and the operator
    requests applied (set when a snapshot is taken)."""

    last_fill_us: int
    fill_ids: set[str] = field(default_factory=set)
    adjustments: dict[str, Decimal] = field(default_factory=dict)
    last_state_change: TradingStateChanged | None = None
    applied: frozenset[str] = frozenset()

    def observe(self, payload: DomainEvent, time_us: int) -> None:
        if isinstance(payload, FillRecorded | VenueReportUnmatched) and payload.venue_fill_id:
            self.fill_ids.add(payload.venue_fill_id)
            self.last_fill_us = max(self.last_fill_us, time_us)
        elif isinstance(payload, BalanceAdjusted):
            held = self.adjustments.get(payload.currency, Decimal(0))
            self.adjustments[payload.currency] = held + payload.amount
        elif isinstance(payload, TradingStateChanged):
            self.last_state_change = payload


def facts_of(events: Sequence[RecordedEvent], facts: SessionFacts | None = None) -> SessionFacts:
    """``facts`` (a copy; new ones from the first event's time) after ``events``."""
    found = (
        SessionFacts(events[0].event_time_us)
        if facts is None
        else replace(facts, fill_ids=set(facts.fill_ids), adjustments=dict(facts.adjustments))
    )
    for event in events:
        found.observe(event.payload, event.event_time_us)
    return found


class FactsSink:
    """Hands batches on to ``sink`` and keeps ``facts`` up to date with what they record."""

    def __init__(self, sink: EventSink, facts: SessionFacts) -> None:
        self.sink, self.facts = sink, facts

    def append(self, events: Sequence[NewEvent]) -> object:
        appended = self.sink.append(events)
        for event in events:
            self.facts.observe(event.payload, event.event_time_us)
        return appended


@dataclass
class Snapshot:
    """A loaded snapshot: the engine as it was after ``covers`` events (on the new session's
    venue, clock and sink), the facts, the last bar time done, and the run stream's events
    from ``RunSnapshotSaved`` on."""

    engine: TradingEngine
    facts: SessionFacts
    done_us: int
    bar_times: int
    covers: int
    run_tail: list[RecordedEvent]


@dataclass(frozen=True)
class Outside:
    """The objects a snapshot refers to but does not hold: the new session's own."""

    venue: Venue
    clock: Clock
    sink: EventSink

    def by_name(self) -> dict[str, object]:
        return {"venue": self.venue, "clock": self.clock, "sink": self.sink}


@cache
def code_version() -> str:
    """The Python version and the SHA-256 of the domain package's source: a snapshot is
    loaded only by the code that wrote it (a pickled object of other code may not fit)."""
    digest = hashlib.sha256(sys.version.encode())
    root = Path(domain.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return f"{FORMAT} {digest.hexdigest()[:16]}"


def snapshot_key(run_id: str) -> str:
    return f"{PREFIX}{run_id}.snapshot"


def encode(
    engine: TradingEngine, facts: SessionFacts, done_us: int, bar_times: int, outside: Outside
) -> bytes:
    """The pickled state (``pickle.PicklingError`` and others if the strategy cannot be)."""
    names = {id(value): name for name, value in outside.by_name().items()}
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = lambda value: names.get(id(value))  # type: ignore[method-assign]
    pickler.dump((engine, facts, done_us, bar_times))
    return buffer.getvalue()


def take(
    objects: ObjectStore,
    engine: TradingEngine,
    facts: SessionFacts,
    *,
    done_us: int,
    bar_times: int,
    outside: Outside,
) -> None:
    """Pickle the session, record ``RunSnapshotSaved`` (flushed), then store the bytes
    (``ObjectStoreError`` or ``OSError`` if they cannot be: the previous snapshot stays)."""
    assert not engine.journal.pending, "a snapshot is taken between bar times, all flushed"
    body = encode(engine, facts, done_us, bar_times, outside)
    covers = engine.journal.sequence
    engine.record_fact(
        RunSnapshotSaved(
            run_id=engine.spec.run_id,
            covers_events=covers,
            bar_times=bar_times,
            sha256=hashlib.sha256(body).hexdigest(),
            size_bytes=len(body),
            format=code_version(),
        )
    )
    header = {"run_version": engine.journal.versions[engine.run_stream], "covers": covers}
    objects.put(snapshot_key(engine.spec.run_id), json.dumps(header).encode() + b"\n" + body)


def load(objects: ObjectStore, store: EventStore, run_id: str, outside: Outside) -> Snapshot:
    """The run's latest snapshot, checked against its ``RunSnapshotSaved``; raises
    ``SnapshotUnusableError`` saying why it cannot be used."""
    key = snapshot_key(run_id)
    path = f"{objects.url.rstrip('/')}/{key}"
    try:
        header_line, body = objects.get(key).split(b"\n", 1)
        header = json.loads(header_line)
        run_version, covers = int(header["run_version"]), int(header["covers"])
    except ObjectNotFoundError:
        raise SnapshotUnusableError(f"no snapshot at {path}") from None
    except (ObjectStoreError, OSError, ValueError, KeyError, TypeError) as error:
        raise SnapshotUnusableError(f"unreadable snapshot {path}: {error}") from None
    tail = store.read_stream_after(run_stream(run_id), max(0, run_version - 1))
    taken = tail[0].payload if tail and tail[0].stream_version == run_version else None
    if not isinstance(taken, RunSnapshotSaved) or taken.covers_events != covers:
        raise SnapshotUnusableError(f"{path} is not the snapshot the run's log recorded")
    if taken.format != code_version():
        raise SnapshotUnusableError(
            f"{path} was written by other code ({taken.format}; this is {code_version()})"
        )
    if hashlib.sha256(body).hexdigest() != taken.sha256:
        raise SnapshotUnusableError(f"{path} does not hash to the SHA-256 the log recorded")
    names = outside.by_name()
    unpickler = pickle.Unpickler(io.BytesIO(body))
    unpickler.persistent_load = names.__getitem__  # type: ignore[method-assign]
    try:
        engine, facts, done_us, bar_times = unpickler.load()
    except UNLOADABLE as error:
        raise SnapshotUnusableError(f"{path} cannot be loaded: {error!r}") from None
    if not isinstance(engine, TradingEngine) or engine.journal.sequence != covers:
        raise SnapshotUnusableError(f"{path} does not hold the engine after {covers} events")
    return Snapshot(engine, facts, done_us, bar_times, covers, tail)
