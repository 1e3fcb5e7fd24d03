"""Verify read models against the log: recompute state (``LogState``) and list every difference.

Each projection is compared at its own checkpoint: the log is folded once, in position order,
stopping at each checkpoint (lowest first) to ask that projection for its ``mismatches``. When
all projections are caught up this is one common position. A read model behind the head of
the log, or stopped on an event it cannot apply, does not verify either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from domain.events.codec import decode
from infra.eventstore.store import EventStore
from projections.base import Projection
from projections.queries.state import LogState, fold


@runtime_checkable
class Verifiable(Protocol):
    name: str

    def checkpoint(self) -> int: ...

    def mismatches(self, state: LogState) -> list[str]: ...


@dataclass
class VerifyResult:
    name: str
    position: int
    mismatches: list[str] = field(default_factory=list)
    skipped: str = ""
    head: int = 0
    failure: str = ""  # why the read model stopped, when it did

    @property
    def behind(self) -> int:
        """Events in the log it has not applied: its rows cannot be complete."""
        return max(0, self.head - self.position)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.skipped and not self.behind and not self.failure


Progress = Callable[[int, int], None]  # (folded up to, target)


def verify(
    store: EventStore,
    projections: Sequence[Projection],
    *,
    progress: Progress | None = None,
    failures: Mapping[str, str] | None = None,
) -> list[VerifyResult]:
    """One result per projection (in the order given); ``skipped`` when it cannot be checked.

    A result is not ok when the read model differs from the log below its checkpoint, is
    behind the head of the log, or has stopped on an event (``failures``: name -> why)."""
    head = store.head()
    results: dict[str, VerifyResult] = {}
    checkable: list[tuple[int, str, Verifiable]] = []
    for projection in projections:
        checkpoint = projection.checkpoint()
        if not isinstance(projection, Verifiable):
            results[projection.name] = VerifyResult(
                projection.name, checkpoint, skipped="has no mismatches() check"
            )
        elif checkpoint > head:
            results[projection.name] = VerifyResult(
                projection.name,
                checkpoint,
                [
                    f"{projection.name}: checkpoint {checkpoint} is beyond the log head {head} "
                    "(was it built from another event store?)"
                ],
            )
        else:
            checkable.append((checkpoint, projection.name, projection))
    state = LogState()
    for checkpoint, name, verifiable in sorted(checkable, key=lambda item: item[0]):
        _advance(store, state, checkpoint, progress)
        results[name] = VerifyResult(name, checkpoint, verifiable.mismatches(state))
    for result in results.values():
        result.head = head
        result.failure = (failures or {}).get(result.name, "")
    return [results[projection.name] for projection in projections]


def _advance(store: EventStore, state: LogState, upto: int, progress: Progress | None) -> None:
    for page in store.read_notifications(state.head, stop=upto, batch_size=5_000):
        fold((decode(notification) for notification in page), state)
        if progress:
            progress(state.head, upto)
