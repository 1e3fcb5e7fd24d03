"""A report's replay (the cross-check's side) in a forked child with its own connection to the
store, while this process reads the log for the sections: the replay shares no arithmetic with
them, only the log, so it can fold it on the second core and send back its figures (a few dozen
strings), the positions it covered and the chain check of those positions, made on the records
it read. The child opens the store again from its URL and key prefix and never uses a
connection of this process; where that cannot give the same log (no ``fork``, a store that is
not reopenable, or one trimmed after sealing, whose early positions only the archive holds),
``possible`` is False and the replay runs here."""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection

from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.integrity import IntegrityReport
from projections.queries.reports.crosscheck import Replay
from projections.queries.reports.source import ReportScope, ReportSource


class ReplayFailedError(RuntimeError):
    """The replay failed in the child process (the message says why); nothing is published."""


@dataclass(frozen=True)
class Replayed:
    """What the child sends back: the figures, the first and last position of the window's
    events, and the chain check of those positions (``None`` when there are none)."""

    figures: Mapping[str, str]
    covered: tuple[int, int]
    chain: IntegrityReport | None


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
            source = ReportSource(store=store, scope=job.scope, head=job.head, check_chain=True)
            figures = dict(job.replay(source, job.scope))
            replayed = Replayed(figures, source.covered(), source.chain_check())
        finally:
            store.close()
        send.send((True, replayed))
    except Exception as error:  # every failure goes back to the parent as one line
        send.send((False, f"{type(error).__name__}: {error}"))
    finally:
        send.close()


def possible(store: EventStore) -> bool:
    """Whether a child process can open ``store``'s log again on its own."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and store.reopenable
        and store.held_from() <= 1
    )


class ReplayBeside:
    """The figures of ``replay`` over ``source``'s log, folded in a child process (where
    ``possible``): ``result()`` waits for them, ``close()`` stops a replay no longer wanted."""

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

    def result(self) -> Replayed:
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
        replayed: Replayed = value
        return replayed

    def close(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
