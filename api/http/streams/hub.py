"""One reader of the log per process, fanning every new event out to the WebSocket clients.

The reader is a thread following the event store (``EventStore.follow``: Redis ``XREAD BLOCK``,
SQLite polled). Each page it reads is decoded and turned into messages once, then handed to the
event loop, which offers it to every subscriber; the thread waits for that hand-over, so it
never runs ahead of the loop. A subscriber's queue is bounded: one that falls more than
``queue_limit`` events behind is closed with a reason naming the position to resume from,
rather than holding the others back or growing without end (a queue holds at most
``queue_limit`` events plus one page of the log).

The hub starts with its first subscriber and stops when its last one leaves (``Hubs``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass

from api.http.streams.messages import MessageCache, StreamMessage
from api.http.streams.topics import Rule
from infra.eventstore.store import EventStore

log = logging.getLogger(__name__)

StoreOpener = Callable[[], AbstractContextManager[EventStore]]

SLOW_CLIENT = 4008  # an application close code: the client fell too far behind
STORE_FAILED = 1011  # the standard "server error" close code
_HAND_OVER_WAIT = 0.5  # seconds between checks for a stop while the loop is busy


@dataclass(frozen=True)
class Closing:
    """Why a subscription ended, as a WebSocket close code and reason."""

    code: int
    reason: str


class StreamClosedError(Exception):
    """The hub ended this subscription (too slow, or the store failed)."""

    def __init__(self, closing: Closing) -> None:
        super().__init__(closing.reason)
        self.closing = closing


class Subscriber:
    """One client's bounded queue of the messages it wants that it has not yet been given."""

    def __init__(self, wanted: Rule, after: int, limit: int) -> None:
        self._wanted = wanted
        self._after = after
        self._limit = limit
        self._pending: deque[StreamMessage] = deque()
        self._ready = asyncio.Event()
        self._closing: Closing | None = None
        self.handed_out = after

    def offer(self, messages: Sequence[StreamMessage]) -> None:
        if self._closing is not None:
            return
        if len(self._pending) > self._limit:
            # Still this far behind when more arrives: a burst of one page is not slowness.
            self.close(
                SLOW_CLIENT,
                f"too slow: over {self._limit} events waiting; "
                f"reconnect with after={self.handed_out}",
            )
            return
        after, wanted = self._after, self._wanted
        self._pending.extend(m for m in messages if m.position > after and wanted(m))
        if self._pending:
            self._ready.set()

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = Closing(code, reason)
            self._pending.clear()
            self._ready.set()

    async def next_batch(self) -> list[StreamMessage]:
        """Every message waiting (at least one), oldest first; raises ``StreamClosedError``
        once the hub closed this subscription."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._closing is not None:
                raise StreamClosedError(self._closing)
            if self._pending:
                batch = list(self._pending)
                self._pending.clear()
                self.handed_out = batch[-1].position
                return batch


class HubUnavailableError(Exception):
    """The event store could not be opened, followed or read; the message says why."""


class StreamHub:
    """The reader thread and the subscribers it feeds, bound to one event loop."""

    def __init__(
        self,
        opener: StoreOpener,
        loop: asyncio.AbstractEventLoop,
        *,
        poll_seconds: float,
        batch_size: int,
        cache_size: int,
    ) -> None:
        self.loop = loop
        self.cache = MessageCache(cache_size)
        self.position = 0
        self.users = 0
        self.failure: str | None = None
        self._opener = opener
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._store: EventStore | None = None
        self._subscribers: set[Subscriber] = set()
        self._opened: asyncio.Future[None] = loop.create_future()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="lh-stream-hub", daemon=True)

    @property
    def store(self) -> EventStore:
        """The store the reader follows (for clients catching up); open once ``ready``."""
        if self._store is None:
            raise HubUnavailableError(self.failure or "the event store is not open yet")
        return self._store

    def start(self) -> None:
        self._thread.start()

    async def ready(self) -> None:
        """Wait until the store is open and its head known; ``HubUnavailableError`` if not."""
        await asyncio.shield(self._opened)

    def stop(self) -> None:
        """Let the reader finish (within ``poll_seconds``) and close the store."""
        self._stopping.set()

    def subscribe(self, wanted: Rule, after: int, limit: int) -> Subscriber:
        """A subscriber given every wanted message the hub publishes from now on with a
        position above ``after``; call it when ``after >= position`` (caught up), between two
        awaits, so that no publication can fall in between."""
        subscriber = Subscriber(wanted, after, limit)
        if self.failure is not None:
            subscriber.close(STORE_FAILED, self.failure)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    # --- on the event loop ----------------------------------------------------------------

    def _on_opened(self, store: EventStore, head: int) -> None:
        self._store = store
        self.position = head
        if not self._opened.done():
            self._opened.set_result(None)

    def _publish(self, messages: list[StreamMessage]) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(messages)
        self.position = messages[-1].position

    def _on_failed(self, reason: str) -> None:
        self.failure = reason
        self._store = None
        if not self._opened.done():
            self._opened.set_exception(HubUnavailableError(reason))
        for subscriber in list(self._subscribers):
            subscriber.close(STORE_FAILED, reason)

    # --- on the reader thread -------------------------------------------------------------

    def _follow(self) -> None:
        try:
            with self._opener() as store:
                head = store.head()
                self._hand_over(self._on_opened, store, head)
                for page in store.follow(
                    head,
                    poll_seconds=self._poll_seconds,
                    stop_when=self._stopping.is_set,
                    batch_size=self._batch_size,
                ):
                    messages = [self.cache.message(notification) for notification in page]
                    self._hand_over(self._publish, messages)
        except _LoopGoneError:
            return
        except Exception as error:  # the store is down or unreadable: tell every client
            log.warning("stream hub stopped: %s", error)
            reason = f"event store unavailable: {error}"[:120]
            self._hand_over_quietly(self._on_failed, reason)

    def _hand_over(self, call: Callable[..., None], *args: object) -> None:
        """Run ``call`` on the event loop and wait for it (or for a stop)."""
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                call(*args)
            finally:
                done.set_result(None)

        try:
            self.loop.call_soon_threadsafe(run)
        except RuntimeError as closed:  # the loop was closed under us
            raise _LoopGoneError from closed
        while not self._stopping.is_set():
            try:
                done.result(timeout=_HAND_OVER_WAIT)
                return
            except concurrent.futures.TimeoutError:
                continue
        raise _LoopGoneError

    def _hand_over_quietly(self, call: Callable[..., None], *args: object) -> None:
        try:
            self.loop.call_soon_threadsafe(call, *args)
        except RuntimeError:
            return


class _LoopGoneError(Exception):
    """The hub was stopped, or its event loop closed, while the reader handed a page over."""


class Hubs:
    """The running hub of a router: started by its first subscriber (on that subscriber's
    event loop), stopped when its last one leaves, replaced after a failure."""

    def __init__(
        self, opener: StoreOpener, *, poll_seconds: float, batch_size: int, cache_size: int
    ) -> None:
        self._opener = opener
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._hub: StreamHub | None = None

    @asynccontextmanager
    async def using(self) -> AsyncIterator[StreamHub]:
        """The hub, ready, held for the ``async with`` block."""
        loop = asyncio.get_running_loop()
        hub = self._hub
        if hub is None or hub.loop is not loop or hub.failure is not None:
            hub = self._hub = StreamHub(
                self._opener,
                loop,
                poll_seconds=self._poll_seconds,
                batch_size=self._batch_size,
                cache_size=self._cache_size,
            )
            hub.start()
        hub.users += 1
        try:
            await hub.ready()
            yield hub
        finally:
            hub.users -= 1
            if hub.users == 0:
                hub.stop()
                if self._hub is hub:
                    self._hub = None
