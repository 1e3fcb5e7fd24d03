"""What a follower costs per event: batch size when behind, decoding shared by read models.

Each ClickHouse insert costs a fixed 3-18 ms whatever its size, so a follower applying 1,000
events at a time tops out near the live rate and hardly recovers its lag; batches of
``--batch-size`` let it catch up. And three read models following the head decode each event
once between them, not once each.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from projections.pages import DecodedTail
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


def test_followers_share_decoded_events_whatever_their_pages(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    append_all(store, synthetic_batches(100))
    items = [item for page in store.read_notifications(0) for item in page]
    tail = DecodedTail(capacity=len(items))
    first = tail.decode(items[:700])  # one follower's page ...
    second = tail.decode(items[300:])  # ... and a sibling's, polled a moment later
    assert tail.decoded == len(items)
    assert second[:400] == first[300:] and all(
        a is b for a, b in zip(second, first[300:], strict=False)
    )
    assert [event.position for event in second] == [item.id for item in items[300:]]
    store.close()


def test_the_decoded_tail_keeps_only_the_newest_events(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    append_all(store, synthetic_batches(100))
    items = [item for page in store.read_notifications(0) for item in page]
    tail = DecodedTail(capacity=500)
    tail.decode(items[:1000])
    tail.decode(items[:500])  # evicted: decoded again
    tail.decode(items[1000 - 100 : 1000])  # evicted by the line above too
    assert tail.decoded == 1000 + 500 + 100
    store.close()
