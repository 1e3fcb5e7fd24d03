"""Operator requests to a running session, through the run's control stream.

``lh ctl`` (and later the API) appends ``OperatorCommandRequested`` to
``control_stream(run_id)`` with ``request_command``; nothing else writes there. The paper
session reads the stream at each step and while it waits between bars
(``SessionControl.apply_pending``), applies each request it has not applied yet through the
command handlers and records the outcome and ``OperatorCommandApplied`` (where in the run it
was applied), or ``OperatorCommandRejected``, with the request's event id as their cause.
What the run's log holds caused by a request is what was applied: a request without one is
pending, and is applied when the session (re)starts, so each request is applied exactly once
across restarts and crashes (the run's lease keeps a second session out). Backtests never
read the control stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from api.application.commands import Command, CommandError, from_request, kind_of
from api.application.handlers import CommandRejectedError, handle
from domain.engine.engine import TradingEngine
from domain.events.base import DomainEvent
from domain.events.catalog import (
    OperatorCommandApplied,
    OperatorCommandRejected,
    OperatorCommandRequested,
    RunFailed,
    StrategyRunStarted,
    StrategyRunStopped,
)
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.streams import control_stream, run_stream
from domain.events.types import ActorKind, RunMode
from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.store import EventStore, wall_clock_us

LATEST = "latest"
LATEST_WINDOW = 1_000  # positions scanned first, from the head back, for the latest run
APPEND_ATTEMPTS = 20  # concurrent requests to one run: each retries on the next version


class ControlError(ValueError):
    """The request cannot be sent: no such run, a finished run, a backtest."""


@dataclass(frozen=True)
class RunTarget:
    """A run requests may be sent to: its id, account and whether it has ended."""

    run_id: str
    account: str
    mode: RunMode
    ended: str  # "" while the run can still take requests, else how it ended


def latest_run_id(store: EventStore) -> str | None:
    """The run whose ``StrategyRunStarted`` is the last in the log, scanning back from the
    head in growing windows (raw records only; a recent run is found in the first)."""
    stop, window = store.head(), LATEST_WINDOW
    while stop > 0:
        after = max(0, stop - window)
        found = None
        for page in store.read_notifications(after, stop=stop):
            for record in page:
                if record.topic == StrategyRunStarted.event_type():
                    found = record.originator_id
        if found is not None:
            return str(found).removeprefix(run_stream(""))
        stop, window = after, window * 4
    return None


def find_run(store: EventStore, run: str) -> RunTarget:
    """The run ``run`` names (``latest``: the most recently started); ``ControlError`` if
    the log has no such run."""
    run_id = latest_run_id(store) if run == LATEST else run
    if run_id is None:
        raise ControlError("the event store holds no run yet")
    events = store.read_stream(run_stream(run_id))
    if not events or not isinstance(events[0].payload, StrategyRunStarted):
        raise ControlError(f"no run {run_id!r} in the event store")
    started = events[0].payload
    ended = ""
    for event in events:
        payload = event.payload
        if isinstance(payload, StrategyRunStopped):
            ended = f"stopped: {payload.reason}"
        elif isinstance(payload, RunFailed) and not payload.resumable:
            ended = f"failed: {payload.error_type}"
    return RunTarget(run_id, started.account, started.mode, ended)


def request_command(store: EventStore, target: RunTarget, command: Command) -> str:
    """Append ``command`` to the run's control stream; its request id (also the request's
    event id, the cause of its outcome). ``ControlError`` for a run that cannot take it."""
    if target.mode is RunMode.BACKTEST:
        raise ControlError(
            f"run {target.run_id} is a backtest; backtests do not read operator requests"
        )
    if target.ended:
        raise ControlError(f"run {target.run_id} has ended ({target.ended}); it takes no requests")
    kind, arguments = kind_of(command)
    request_id = f"req-{uuid.uuid4().hex}"
    payload = OperatorCommandRequested(
        request_id=request_id,
        run_id=target.run_id,
        command=kind,
        arguments=arguments,
        operator=command.operator,
        reason=command.reason,
    )
    actor = Actor(ActorKind.OPERATOR, command.operator, target.account)
    stream = control_stream(target.run_id)
    for _ in range(APPEND_ATTEMPTS):
        version = store.stream_version(stream) + 1
        event = NewEvent(
            stream, version, payload, request_id, wall_clock_us(), actor, None, target.run_id
        )
        try:
            store.append([event])
        except StreamVersionConflictError:
            continue  # another request took this version: take the next
        return request_id
    raise ControlError(f"run {target.run_id}'s control stream is too busy; try again")


def requests(store: EventStore, run_id: str) -> list[RecordedEvent]:
    """Every request recorded for the run, oldest first."""
    return store.read_stream(control_stream(run_id))


def pending_requests(
    store: EventStore, run_id: str, applied: Collection[str]
) -> list[RecordedEvent]:
    """The run's requests whose event id is not among ``applied`` (the causes in its log)."""
    return [event for event in requests(store, run_id) if event.event_id not in applied]


def apply_request(engine: TradingEngine, event: RecordedEvent) -> None:
    """Carry one request out on the engine: its outcome and ``OperatorCommandApplied``, or
    ``OperatorCommandRejected``, each caused by the request's event id."""
    request = event.payload
    if not isinstance(request, OperatorCommandRequested):
        raise TypeError(f"{event.event_type} in a control stream is not a request")
    known = {"request_id": request.request_id, "run_id": request.run_id}
    place = {"command": request.command, "market_time_us": engine.market_us}
    try:
        handle(from_request(request), engine, cause=event.event_id)
    except (CommandError, CommandRejectedError) as error:
        fact: DomainEvent = OperatorCommandRejected(**known, **place, error=str(error))
    else:
        fact = OperatorCommandApplied(**known, **place)
    engine.record_fact(fact, cause=event.event_id)


class SessionControl:
    """A session's side of its control stream: applies each new request once."""

    def __init__(self, store: EventStore, run_id: str, applied: Collection[str]) -> None:
        self._store = store
        self._stream = control_stream(run_id)
        self._applied = set(applied)
        self._seen = 0  # control stream version read so far

    @property
    def applied(self) -> frozenset[str]:
        """The event ids of the requests applied so far (a snapshot keeps them)."""
        return frozenset(self._applied)

    def apply_pending(self, engine: TradingEngine) -> int:
        """Apply the requests appended since the last call (one cheap version query when
        there are none); how many were applied."""
        version = self._store.stream_version(self._stream)
        if version <= self._seen:
            return 0
        new = self._store.read_stream(self._stream)[self._seen :]
        self._seen = version
        count = 0
        for event in new:
            if event.event_id not in self._applied:
                apply_request(engine, event)
                self._applied.add(event.event_id)
                count += 1
        return count
