"""Hot reads made nearly free without ever answering staler than the read model.

``SharedRead`` reads a version (the SQL read model's checkpoint, the log's head) for every
request waiting for it at once: a request joins the next read that *starts after it arrived*,
so what it gets is at least as new as the state at its arrival, while 200 concurrent requests
cost one query instead of 200. ``ResponseCache`` keeps each response body with the version it
was built at; a body is served only to a request that read that same version.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from anyio import to_thread

V = TypeVar("V")


class SharedRead(Generic[V]):
    """``await current()``: ``read()`` (run in a worker thread) as of after the call."""

    def __init__(self, read: Callable[[], V]) -> None:
        self._read = read
        self._next: asyncio.Future[V] | None = None  # joined by arrivals, not started yet
        self._running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None  # held: a running task is not collected

    async def current(self) -> V:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another event loop (a test client's): start afresh
            self._loop, self._next, self._running = loop, None, False
        waiting = self._next
        if waiting is None:
            waiting = self._next = loop.create_future()
            if not self._running:
                self._running = True
                self._task = loop.create_task(self._serve())
        return await asyncio.shield(waiting)

    async def _serve(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # later arrivals wait for the next read
                try:
                    value = await to_thread.run_sync(self._read)
                except Exception as error:
                    waiting.set_exception(error)
                    waiting.exception()  # retrieved: no warning if every waiter left
                else:
                    waiting.set_result(value)
        finally:
            self._running = False


class ResponseCache:
    """Response bodies by (route, query), each with the version it was built at; the least
    recently used of more than ``size`` entries is dropped."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != version:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def has(self, key: Hashable) -> bool:
        """Whether ``key`` is held at any version (cheap, for the fast path's first look)."""
        return key in self._entries

    def put(self, key: Hashable, version: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = (version, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
