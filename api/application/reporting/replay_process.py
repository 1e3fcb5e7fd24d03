"""A report's replay (the cross-check's side) in a forked child with its own connection to the
store, while this process reads the log for the sections: the replay shares no arithmetic with
them, only the log, so it can fold it on the second core and send back its figures (a few dozen
strings), the positions it covered and the chain check of those positions, made on the records
it read. The child opens the store again from its URL and key prefix and never uses a
connection of this process; where that cannot give the same log (no ``fork``, a store that is
not reopenable, or one trimmed after sealing, whose early positions only the archive holds),
``possible`` is False and the replay runs here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.application.reporting.beside import Beside, ChildFailedError, can_fork
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


def _replay(job: _Job) -> Replayed:
    store = open_event_store(job.url, key_prefix=job.key_prefix, read_only=True)
    try:
        source = ReportSource(store=store, scope=job.scope, head=job.head, check_chain=True)
        figures = dict(job.replay(source, job.scope))
        return Replayed(figures, source.covered(), source.chain_check())
    finally:
        store.close()


def possible(store: EventStore) -> bool:
    """Whether a child process can open ``store``'s log again on its own."""
    return can_fork() and store.reopenable and store.held_from() <= 1


class ReplayBeside:
    """The figures of ``replay`` over ``source``'s log, folded in a child process (where
    ``possible``): ``result()`` waits for them, ``close()`` stops a replay no longer wanted."""

    def __init__(self, replay: Replay, source: ReportSource) -> None:
        store = source.store
        job = _Job(replay, store.url, store.key_prefix, source.scope, source.head)
        self._child = Beside(_replay, job)

    def result(self) -> Replayed:
        try:
            return self._child.result()
        except ChildFailedError as error:
            if error.died:
                raise ReplayFailedError(
                    f"report not published: the replay of the log stopped ({error})"
                ) from None
            raise ReplayFailedError(
                f"report not published: the replay of the log failed: {error}"
            ) from None

    def close(self) -> None:
        self._child.close()
