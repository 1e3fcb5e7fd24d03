"""A report's replay (the cross-check's side) in a forked child with its own connection to the
store, while this process reads the log for the sections: the replay shares no arithmetic with
them, only the log, so it can fold it on the second core and send back its figures (a few dozen
strings). The child opens the store again from its URL and key prefix and never uses a
connection of this process; where that cannot give the same log (no ``fork``, a store that is
not reopenable, or one trimmed after sealing, whose early positions only the archive holds),
``ReplayBeside.start`` gives ``None`` and the replay runs here."""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection

from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.queries.reports.crosscheck import Replay
from projections.queries.reports.source import ReportScope, ReportSource


class ReplayFailedError(RuntimeError):
    """The replay failed in the child process (the message says why); nothing is published."""


@dataclass(frozen=True)
class _Job:
    """What the child needs: the replay, where the store is, and the log's pinned head."""

    replay: Replay
    url: str
    key_prefix: str
    scope: ReportScope
    head: int


def _replay_and_send(job: _Job, send: Connection) -> None:
    try:
        store = open_event_store(job.url, key_prefix=job.key_prefix, read_only=True)
        try:
            source = ReportSource(store=store, scope=job.scope, head=job.head)
            figures = dict(job.replay(source, job.scope))
        finally:
            store.close()
        send.send((True, figures))
    except Exception as error:  # every failure goes back to the parent as one line
        send.send((False, f"{type(error).__name__}: {error}"))
    finally:
        send.close()


def _can_reopen(store: EventStore) -> bool:
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and store.reopenable
        and store.held_from() <= 1
    )


class ReplayBeside:
    """The figures of ``replay`` over ``source``'s log, folded in a child process:
    ``result()`` waits for them, ``close()`` stops a replay no longer wanted."""

    def __init__(self, replay: Replay, source: ReportSource) -> None:
        context = multiprocessing.get_context("fork")
        store = source.store
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_replay_and_send,
            args=(_Job(replay, store.url, store.key_prefix, source.scope, source.head), send),
            daemon=True,
        )
        self._process.start()
        send.close()

    @classmethod
    def start(cls, replay: Replay, source: ReportSource) -> ReplayBeside | None:
        """The replay started in a child, or ``None`` where the child could not reopen the
        same log (the caller replays in this process)."""
        return cls(replay, source) if _can_reopen(source.store) else None

    def result(self) -> Mapping[str, str]:
        try:
            ok, value = self._receive.recv()
        except EOFError:
            raise ReplayFailedError(
                f"report not published: the replay of the log stopped "
                f"(exit code {self._process.exitcode})"
            ) from None
        finally:
            self._process.join()
        if not ok:
            raise ReplayFailedError(f"report not published: the replay of the log failed: {value}")
        figures: dict[str, str] = value
        return figures

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
