"""A follower that fell behind catches up in pages of its batch size, not the store's default.

Each ClickHouse insert costs a fixed 20-50 ms whatever its size, so a follower applying 1,000
events at a time tops out near the live rate and never recovers its lag; batches of
``--batch-size`` let it catch up.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from projections.runner import ProjectionRunner, wait_until
from tests.projections.support import append_all, synthetic_batches
from tests.projections.test_runner import GatedProjection


class SizedProjection(GatedProjection):
    """Records how many new events each batch brought."""

    def __init__(self) -> None:
        super().__init__("sized")
        self.sizes: list[int] = []

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        before = len(self.positions)
        super().apply(batch)
        self.sizes.append(len(self.positions) - before)


def test_a_follower_behind_the_log_applies_batches_of_its_batch_size(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    batches = synthetic_batches(600)
    append_all(store, batches[:10])
    projection = SizedProjection()
    projection.gate.set()
    runner = ProjectionRunner(store, [projection], batch_size=3_000, poll_seconds=0.05)
    follower = threading.Thread(target=runner.follow)
    follower.start()
    try:
        assert wait_until(lambda: projection.checkpoint() == store.head(), 60)
        projection.gate.clear()  # the next batch blocks inside apply ...
        applied = len(projection.sizes)
        append_all(store, batches[10:11])
        assert wait_until(lambda: store.head() > projection.checkpoint(), 60)
        append_all(store, batches[11:])  # ... while the log runs thousands of events ahead
        assert store.head() - projection.checkpoint() > 6_000
        projection.gate.set()
        assert wait_until(lambda: projection.checkpoint() == store.head(), 60)
    finally:
        runner.stop()
        follower.join(30)
    behind = projection.sizes[applied + 1 :]
    assert max(behind) == 3_000, behind
    store.close()
