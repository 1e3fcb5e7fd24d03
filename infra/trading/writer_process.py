"""A store sink that records through a writer process, so storage runs on the other core.

For backtests. One Python process can keep only one core busy (the GIL), and a backtest's
engine already fills it; the log's other half of the work (envelopes, hashes, SQLite or
Redis) is as big again. Here the engine's process turns each batch's payloads into canonical
bytes (``serialize``, the one part that needs the event objects) and sends the batch down a
pipe; a forked child appends it with ``EventStore.append_serialized`` on its own connection
and answers with the positions. At most ``max_pending`` batches are in flight, so memory
stays bounded and the engine cannot run away from the store.

What a crash can lose is what it always could: batches not yet appended. A backtest is
deterministic and resumable (``resume_engine`` replays up to what the log holds and records
the rest again). The child dies with its parent (``PR_SET_PDEATHSIG``), so a resumed run
never races an orphan still appending the old run's tail. Paper and live trading keep the
synchronous ``StoreSink``: there an event must be in the log before the engine acts on it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType

from domain.events.codec import SerializedEvent, serialized_row
from domain.events.envelope import NewEvent
from infra.eventstore.factory import open_event_store

_PR_SET_PDEATHSIG = 1
Reply = tuple[int, int, int, bool] | BaseException  # (events, first, last, duplicate)


class WriterProcessError(RuntimeError):
    """The writer process is gone; what it had not acknowledged may not be recorded."""


class WriterProcessSink:
    """``StoreSink``'s interface (``append``, positions, counts) over a writer process.

    The first error the writer meets is re-raised by the next ``append`` or by ``close``;
    nothing is written after it. Counts and positions are final once ``close`` returns.
    """

    def __init__(self, url: str, *, key_prefix: str = "lh", max_pending: int = 8) -> None:
        self.first_position = 0
        self.last_position = 0
        self.appended = 0
        self.duplicates = 0
        self._max_pending = max(1, max_pending)
        self._in_flight = 0
        self._error: BaseException | None = None
        self._closed = False
        context = multiprocessing.get_context("fork")  # no re-import: the child starts at once
        self._replies, child_replies = context.Pipe(duplex=False)
        child_requests, self._requests = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(url, key_prefix, os.getpid(), (child_requests, child_replies, self._requests)),
            name="store-writer",
            daemon=True,
        )
        self._process.start()
        child_requests.close()
        child_replies.close()

    @property
    def writer_pid(self) -> int | None:
        return self._process.pid

    def append(self, events: Sequence[NewEvent]) -> None:
        if self._closed:
            raise RuntimeError("append to a closed WriterProcessSink")
        self._collect(wait=False)
        if not events:
            return
        while self._in_flight >= self._max_pending:
            self._collect(wait=True)
        batch = list(map(serialized_row, events))
        try:
            self._requests.send(batch)
        except (BrokenPipeError, ConnectionResetError):
            raise self._gone() from None
        self._in_flight += 1

    def close(self) -> None:
        """Wait until every batch sent is appended; re-raise the first writer error."""
        if not self._closed:
            self._closed = True
            while self._in_flight and self._error is None:
                self._collect(wait=True)
            self._requests.close()
            self._process.join()
            self._replies.close()
        self._raise_error()

    def _collect(self, *, wait: bool) -> None:
        """Take the writer's answers: all that are ready, and at least one if ``wait``."""
        while self._in_flight and (wait or self._replies.poll()):
            wait = False
            try:
                reply: Reply = self._replies.recv()
            except (EOFError, ConnectionResetError):
                raise self._gone() from None
            self._in_flight -= 1
            if isinstance(reply, BaseException):
                self._error = self._error or reply
                self._in_flight = 0  # the writer stops at its first error: no more answers
                break
            count, first, last, duplicate = reply
            if duplicate:
                self.duplicates += count
            else:
                self.appended += count
                self.first_position = self.first_position or first
                self.last_position = last or self.last_position
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _gone(self) -> WriterProcessError:
        self._process.join(timeout=5)
        self._error = WriterProcessError(
            f"the store writer process exited (code {self._process.exitcode}) with "
            f"{self._in_flight} batch(es) unacknowledged"
        )
        return self._error

    def __enter__(self) -> WriterProcessSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._process.kill()  # the run failed: what is in flight does not matter now
            self._closed = True
            self._process.join()
            self._requests.close()
            self._replies.close()
            return
        self.close()


def _serve(
    url: str, key_prefix: str, parent: int, pipes: tuple[Connection, Connection, Connection]
) -> None:
    """The writer process: append each batch received, in order, and answer for each."""
    requests, replies, parents_end = pipes
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The receiving thread must get the GIL at once when data arrives: until it has read a
    # batch off the pipe, the parent's ``send`` blocks (the default 5 ms turns cost seconds).
    sys.setswitchinterval(0.0001)
    parents_end.close()  # a forked copy of the sending end would keep ``recv`` from ever ending
    store = open_event_store(url, key_prefix=key_prefix)
    batches: queue.SimpleQueue[list[tuple[object, ...]] | None] = queue.SimpleQueue()
    # Receiving (and unpickling) on a thread of its own lets the next batch come in while
    # SQLite, which releases the GIL, writes the current one.
    threading.Thread(target=_receive, args=(requests, batches), daemon=True).start()
    while (batch := batches.get()) is not None:
        try:
            result = store.append_serialized([SerializedEvent._make(item) for item in batch])
        except BaseException as error:
            replies.send(error)
            break
        positions = result.positions
        replies.send(
            (len(batch), positions[0] if positions else 0, positions[-1] if positions else 0,
             result.duplicate)
        )  # fmt: skip
    store.close()


def _receive(
    requests: Connection, batches: queue.SimpleQueue[list[tuple[object, ...]] | None]
) -> None:
    try:
        while True:
            batches.put(requests.recv())
    except (EOFError, OSError):
        batches.put(None)


def _die_with(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (elsewhere: best effort)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
