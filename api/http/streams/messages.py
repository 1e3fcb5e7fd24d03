"""One WebSocket message per recorded event, built once and shared by every subscriber.

A message is the event's envelope as JSON: its global ``position`` (what a client passes back
as ``after=`` to resume), ``type``, ``stream``, ``time`` (the event time, UTC),
``run`` (the run that recorded it, if any), ``account`` and the ``payload`` (upcast to the
current schema; money and quantities as exact decimal strings). The fields a stream filters on
are kept beside the text so that filtering never parses it again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

import orjson
from eventsourcing.persistence import Notification

from domain.events.codec import decode
from domain.events.envelope import RecordedEvent, from_microseconds


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """A recorded event ready to send: the JSON ``text`` and what filters look at."""

    position: int
    event_type: str
    run: str
    account: str
    data: dict[str, Any]
    text: str


def _utc(micros: int) -> str:
    return from_microseconds(micros).isoformat().replace("+00:00", "Z")


def event_run(event: RecordedEvent) -> str:
    """The run an event belongs to: the run id its payload names, else its correlation id
    (every event a run records is correlated with the run's id)."""
    named = event.data.get("run_id")
    if isinstance(named, str):
        return named
    return event.correlation_id or ""


def event_account(event: RecordedEvent) -> str:
    """The account an event concerns: the one its payload names (an order intent's, for a
    risk decision), else the account of the actor that recorded it."""
    named = event.data.get("account")
    if isinstance(named, str):
        return named
    intent = event.data.get("intent")
    if isinstance(intent, dict) and isinstance(intent.get("account"), str):
        return str(intent["account"])
    return event.actor.account


def message_of(event: RecordedEvent) -> StreamMessage:
    run = event_run(event)
    account = event_account(event)
    text = orjson.dumps(
        {
            "position": event.position,
            "type": event.event_type,
            "stream": event.stream_id,
            "time": _utc(event.event_time_us),
            "run": run or None,
            "account": account or None,
            "payload": event.data,
        }
    ).decode()
    return StreamMessage(event.position, event.event_type, run, account, event.data, text)


class MessageCache:
    """The messages of the last ``capacity`` positions built, shared by the live reader and
    every client catching up: clients reconnecting after a blip, or many reading the same
    backlog, decode each event once instead of once each. Thread-safe (catch-ups read in
    worker threads); the oldest entries go first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._lock = Lock()
        self._items: OrderedDict[int, StreamMessage] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def message(self, notification: Notification) -> StreamMessage:
        with self._lock:
            found = self._items.get(notification.id)
        if found is not None:
            return found
        built = message_of(decode(notification))
        with self._lock:
            self._items[notification.id] = built
            if len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return built
