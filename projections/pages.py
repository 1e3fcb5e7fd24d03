"""Decode each page of the log once, however many projections are catching up over it
(``SharedPages``) or following its head (``DecodedTail``).

Decoding (JSON + upcast) costs about as much as applying, so with three read models rebuilding
side by side, decoding each page three times would waste most of a core. Pages are aligned to
multiples of the page size, so projections reading the same range ask for the same keys; a page
is dropped once every reader has had it, or when too many are cached (a projection far behind
then decodes for itself: memory stays bounded, nobody waits on a slow sibling).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from eventsourcing.persistence import Notification

from domain.events.codec import decode
from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore


@dataclass
class _Page:
    remaining: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    events: list[RecordedEvent] | None = None


class SharedPages:
    """Decoded pages of ``store`` shared by ``readers`` threads reading the same range."""

    def __init__(
        self, store: EventStore, *, page_size: int, readers: int, max_pages: int = 16
    ) -> None:
        self.store = store
        self.page_size = page_size
        self.readers = readers
        self.max_pages = max_pages
        self._lock = threading.Lock()
        self._pages: dict[tuple[int, int], _Page] = {}
        self.decoded_pages = 0  # how many pages were actually decoded (for tests and tuning)

    def read(self, after: int, stop: int) -> Iterator[list[RecordedEvent]]:
        """Decoded events in (after, stop], one page at a time."""
        position = after
        while position < stop:
            end = min((position // self.page_size + 1) * self.page_size, stop)
            events = self._page(position, end)
            if not events:
                return
            yield events
            position = events[-1].position

    def _page(self, start: int, end: int) -> list[RecordedEvent]:
        key = (start, end)
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                page = self._pages[key] = _Page(self.readers)
                while len(self._pages) > self.max_pages:
                    del self._pages[min(self._pages)]
        with page.lock:
            if page.events is None:
                page.events = self._decode(start, end)
            events = page.events
        with self._lock:
            page.remaining -= 1
            if page.remaining <= 0 and self._pages.get(key) is page:
                del self._pages[key]
        return events

    def _decode(self, start: int, end: int) -> list[RecordedEvent]:
        with self._lock:
            self.decoded_pages += 1
        return [
            decode(notification)
            for chunk in self.store.read_notifications(start, stop=end, batch_size=end - start)
            for notification in chunk
        ]


class DecodedTail:
    """The last ``capacity`` decoded events, shared by the threads following the head.

    Followers poll at their own moments, so their pages start and end at different positions
    and cannot be shared as pages; events can. Each thread decodes only what no sibling has.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._events: dict[int, RecordedEvent] = {}
        self.decoded = 0  # events actually decoded (for tests and tuning)

    def decode(self, page: Sequence[Notification]) -> list[RecordedEvent]:
        with self._lock:
            known = [self._events.get(item.id) for item in page]
        events = [
            decode(item) if event is None else event
            for event, item in zip(known, page, strict=True)
        ]
        fresh = sum(event is None for event in known)
        if fresh:
            with self._lock:
                self.decoded += fresh
                for event in events:
                    self._events.setdefault(event.position, event)
                while len(self._events) > self.capacity:  # oldest first: dicts keep order
                    del self._events[next(iter(self._events))]
        return events
