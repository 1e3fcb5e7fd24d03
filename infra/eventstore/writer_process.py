"""A store sink that records through a writer process, so storage runs on the other core.

For long backtests. One Python process can keep only one core busy (the GIL), and a
backtest's engine already fills it; the log's other half of the work (envelopes, hashes,
SQLite or Redis) is as big again. Here the engine's process turns each batch's payloads into
canonical bytes (``serialized_row``, the one part that needs the event objects) and pickles
the batch; a thread of its own writes it down a pipe (a write that waits for the writer to
read the pipe then waits there, the GIL released, not in the engine); a writer process
appends it with ``EventStore.append_serialized`` on its own connection and answers with the
positions. At most ``max_pending`` batches are in flight, so memory stays bounded and the
engine cannot run away from the store.

The writer is a fresh interpreter (``python -m infra.eventstore.writer_process``), not a fork:
a forked child shares the engine's pages, a gigabyte of bars, and every reference count the
engine then touches copies a page (measured: +0.4 s of the engine's time per million bars).
It starts in ~0.25 s, on the other core, while the engine runs. The store's URL reaches it
through the pipe, never its command line (``ps`` would show a password).

What a crash can lose is what it always could: batches not yet appended. A backtest is
deterministic and resumable (``resume_engine`` replays up to what the log holds and records
the rest again). The writer dies with its parent (``PR_SET_PDEATHSIG``), so a resumed run
never races an orphan still appending the old run's tail. Paper and live trading keep the
synchronous ``StoreSink``: there an event must be in the log before the engine acts on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import TracebackType
from typing import BinaryIO

from domain.events.codec import SerializedEvent, serialized_row
from domain.events.envelope import NewEvent
from infra.eventstore.factory import open_event_store
from infra.eventstore.leases import Lease, LeaseLostError, open_leases

_PR_SET_PDEATHSIG = 1
_PIPE_BYTES = 1 << 20
_PICKLE = pickle.HIGHEST_PROTOCOL
_as_serialized = tuple.__new__  # ``SerializedEvent._make`` without a Python call per event
Reply = tuple[int, int, int, bool] | BaseException  # (events, first, last, duplicate)


class WriterProcessError(RuntimeError):
    """The writer process is gone; what it had not acknowledged may not be recorded."""


class WriterProcessSink:
    """``StoreSink``'s interface (``append``, positions, counts) over a writer process.

    The first error the writer meets is re-raised by the next ``append`` or by ``close``;
    nothing is written after it. Counts and positions are final once ``close`` returns.
    """

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "lh",
        max_pending: int = 8,
        lease: Lease | None = None,
    ) -> None:
        self.first_position = 0
        self.last_position = 0
        self.appended = 0
        self.duplicates = 0
        self._max_pending = max(1, max_pending)
        self._in_flight = 0
        self._error: BaseException | None = None
        self._closed = False
        child_requests, requests = os.pipe()
        replies, child_replies = os.pipe()
        _widen_pipe(requests)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(os.getpid()), str(child_requests),
                 str(child_replies)],
                pass_fds=(child_requests, child_replies),
            )  # fmt: skip
        finally:
            os.close(child_requests)
            os.close(child_replies)
        self._requests: BinaryIO = open(requests, "wb", buffering=_PIPE_BYTES)  # noqa: SIM115
        self._replies = Connection(replies, writable=False)
        self._send((url, key_prefix, lease))
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._feed_failed = False
        self._feeder = threading.Thread(target=self._feed, name="lh-writer-feed", daemon=True)
        self._feeder.start()

    @property
    def writer_pid(self) -> int:
        return self._process.pid

    def append(self, events: Sequence[NewEvent]) -> None:
        if self._closed:
            raise RuntimeError("append to a closed WriterProcessSink")
        self._collect(wait=False)
        if not events:
            return
        while self._in_flight >= self._max_pending:
            self._collect(wait=True)
        if self._feed_failed:
            raise self._gone()
        self._outbox.put(pickle.dumps(list(map(serialized_row, events)), protocol=_PICKLE))
        self._in_flight += 1

    def drain(self) -> None:
        """Wait until every batch sent so far is appended; re-raise the first writer error."""
        while self._in_flight:
            self._collect(wait=True)
        self._raise_error()

    def close(self) -> None:
        """Wait until every batch sent is appended; re-raise the first writer error. The
        writer is reaped and the pipes closed whether or not it failed."""
        if not self._closed:
            self._closed = True
            try:
                self.drain()
            finally:
                self._shut_down()
        self._raise_error()

    def _shut_down(self) -> None:
        """End the writer's input (it exits once done), reap it, close our ends."""
        self._outbox.put(None)
        self._feeder.join()
        with contextlib.suppress(BrokenPipeError):
            self._requests.close()
        self._process.wait()
        self._take_unasked_error()
        self._replies.close()

    def _take_unasked_error(self) -> None:
        """An answer no batch waited for: the writer could not open the store."""
        try:
            while self._error is None and self._replies.poll():
                reply = self._replies.recv()
                if isinstance(reply, BaseException):
                    self._error = reply
        except (EOFError, ConnectionResetError):
            return

    def _send(self, message: object) -> None:
        """Pickle straight into the pipe (the store's URL, before the feeding thread starts)."""
        try:
            pickle.dump(message, self._requests, protocol=_PICKLE)
            self._requests.flush()
        except (BrokenPipeError, ConnectionResetError):
            raise self._gone() from None

    def _feed(self) -> None:
        """The feeding thread: write each pickled batch down the pipe, in order, until
        ``None``. At most ``max_pending`` batches wait here (a few MiB). A writer gone is
        found by the engine's thread too: its answers end (``_collect``)."""
        while (data := self._outbox.get()) is not None:
            try:
                self._requests.write(data)
                self._requests.flush()
            except (BrokenPipeError, ConnectionResetError, ValueError):
                self._feed_failed = True
                return

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
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        self._error = WriterProcessError(
            f"the store writer process exited (code {code}) with "
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
            self._shut_down()
            return
        self.close()


def main(parent: int, requests_fd: int, replies_fd: int) -> None:
    """The writer process: append each batch received, in order, and answer for each.

    With a run's ``lease`` it first confirms in the store that the lease is still held
    (fencing: an engine that lost its run must not append through its writer either)."""
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # The receiving thread must get the GIL at once when data arrives: until it has read a
    # batch off the pipe, the parent's write blocks (the default 5 ms turns cost seconds).
    sys.setswitchinterval(0.0001)
    requests = open(requests_fd, "rb", buffering=_PIPE_BYTES)  # noqa: SIM115
    replies = Connection(replies_fd, readable=False)
    try:
        url, key_prefix, lease = pickle.load(requests)
        store = open_event_store(url, key_prefix=key_prefix)
        leases = open_leases(url, key_prefix) if lease is not None else None
    except BaseException as error:
        replies.send(error)
        return
    batches: queue.SimpleQueue[list[tuple[object, ...]] | None] = queue.SimpleQueue()
    # Receiving (and unpickling) on a thread of its own lets the next batch come in while
    # SQLite, which releases the GIL, writes the current one.
    threading.Thread(target=_receive, args=(requests, batches), daemon=True).start()
    while (batch := batches.get()) is not None:
        try:
            if leases is not None and not leases.holds(lease):
                raise LeaseLostError(lease.name)
            result = store.append_serialized(
                [_as_serialized(SerializedEvent, item) for item in batch]
            )
        except BaseException as error:
            replies.send(error)
            break
        positions = result.positions
        replies.send(
            (len(batch), positions[0] if positions else 0, positions[-1] if positions else 0,
             result.duplicate)
        )  # fmt: skip
    store.close()
    if leases is not None:
        leases.close()


def _receive(
    requests: BinaryIO, batches: queue.SimpleQueue[list[tuple[object, ...]] | None]
) -> None:
    try:
        while True:
            batches.put(pickle.load(requests))
    except (EOFError, OSError):
        batches.put(None)


def _widen_pipe(fd: int) -> None:
    """A 1 MiB pipe instead of 64 KiB: a batch crosses in a few writes, not dozens of turns
    between the two processes (Linux only; elsewhere the default stays)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        return


def _die_with(parent: int) -> None:
    """Ask Linux to kill this process when its parent dies (elsewhere: best effort)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
    # Every answer is sent and the store closed: end here, not after the interpreter's
    # teardown (~0.1 s), which the engine's process would wait for when it reaps this one.
    os._exit(0)
