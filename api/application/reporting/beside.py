"""A function run in a forked child beside the caller, for report work that needs no state of
this process beyond what it is given (the PDF, the independent replay): the child sends back
its value or its error as one line, and the parent waits for it only when it needs it."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ChildFailedError(RuntimeError):
    """The child raised (``died`` is False: the message is its error) or ended without an answer."""

    def __init__(self, message: str, *, died: bool) -> None:
        super().__init__(message)
        self.died = died


def _call_and_send(function: Callable[..., Any], args: tuple[Any, ...], send: Connection) -> None:
    # What the child inherits is never collected here: a native library's handle (chDB, a
    # driver's pool) finalized in the child could wait on a lock held by a parent thread that
    # does not exist in the child. Objects the child makes are collected as usual.
    gc.freeze()
    try:
        send.send((True, function(*args)))
    except Exception as error:  # every failure goes back to the parent as one line
        send.send((False, f"{type(error).__name__}: {error}"))
    finally:
        send.close()


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


class Beside(Generic[T]):
    """``function(*args)`` in a forked child: ``result()`` waits for its value, ``close()``
    stops a child whose work is no longer wanted."""

    def __init__(self, function: Callable[..., T], *args: Any) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_call_and_send, args=(function, args, send), daemon=True
        )
        self._process.start()
        send.close()

    def result(self) -> T:
        try:
            ok, value = self._receive.recv()
        except EOFError:
            raise ChildFailedError(f"exit code {self._process.exitcode}", died=True) from None
        finally:
            self._process.join()
        if not ok:
            raise ChildFailedError(str(value), died=False)
        result: T = value
        return result

    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
