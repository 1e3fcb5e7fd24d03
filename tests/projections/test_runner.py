"""The projection runner: catch-up, live follow, the lag metric, slow and failing models."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from domain.events.envelope import RecordedEvent
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.pages import SharedPages
from projections.queries.state import compute_log_state
from projections.runner import ProjectionFailedError, ProjectionRunner, wait_until
from projections.sql.projection import SqlProjection
from tests.projections.support import append_all, synthetic_batches


class GatedProjection:
    """A real (in-memory) read model that cannot get past its gate until the test opens it."""

    def __init__(self, name: str = "gated") -> None:
        self.name = name
        self.gate = threading.Event()
        self.positions: list[int] = []

    def checkpoint(self) -> int:
        return self.positions[-1] if self.positions else 0

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        if not self.gate.wait(60):
            raise TimeoutError("gate never opened")
        self.positions += [e.position for e in batch if e.position > self.checkpoint()]

    def reset(self) -> None:
        self.positions.clear()

    def close(self) -> None:
        self.gate.set()


class FailingProjection(GatedProjection):
    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        raise RuntimeError("disk on fire")


def _lag(name: str) -> float | None:
    return REGISTRY.get_sample_value("lh_projection_lag_events", {"projection": name})


def test_follow_applies_events_appended_after_start(sql_url: str, tmp_path: Path) -> None:
    _follow(open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}"), sql_url)


def test_follow_on_redis_streams(redis_url: str, redis_prefix: str, tmp_path: Path) -> None:
    """Redis wakes the follower with its blocking subscription instead of polling."""
    store = open_event_store(redis_url, key_prefix=redis_prefix)
    _follow(store, f"sqlite:///{tmp_path / 'rm.sqlite'}")


def _follow(store: EventStore, sql_url: str) -> None:
    batches = synthetic_batches(300)
    append_all(store, batches[:100])
    projection = SqlProjection.open(sql_url)
    runner = ProjectionRunner(store, [projection], batch_size=500, poll_seconds=0.05)
    follower = threading.Thread(target=runner.follow)
    follower.start()
    try:
        assert wait_until(lambda: projection.checkpoint() == store.head(), 60)
        append_all(store, batches[100:])
        head = store.head()
        assert wait_until(lambda: projection.checkpoint() == head, 60)
    finally:
        runner.stop()
        follower.join(30)
    assert not follower.is_alive()
    assert projection.mismatches(compute_log_state(store)) == []
    assert _lag("sql") == 0
    projection.close()
    store.close()


def test_catch_up_to_a_position_reports_the_lag(small_log: str, tmp_path: Path) -> None:
    store = open_event_store(small_log)
    projection = SqlProjection.open(f"sqlite:///{tmp_path / 'rm.sqlite'}")
    runner = ProjectionRunner(store, [projection], batch_size=700)
    assert runner.catch_up(upto=1_000) == 1_000
    assert projection.checkpoint() == 1_000
    [status] = runner.status()
    assert (status.checkpoint, status.head, status.lag) == (
        1_000,
        store.head(),
        store.head() - 1_000,
    )
    assert _lag("sql") == store.head() - 1_000
    runner.catch_up()
    assert projection.checkpoint() == store.head() and _lag("sql") == 0
    assert projection.mismatches(compute_log_state(store)) == []
    projection.close()
    store.close()


def test_a_stuck_projection_does_not_hold_back_the_others(small_log: str, tmp_path: Path) -> None:
    store = open_event_store(small_log)
    sql = SqlProjection.open(f"sqlite:///{tmp_path / 'rm.sqlite'}")
    gated = GatedProjection()
    runner = ProjectionRunner(store, [gated, sql], batch_size=500)
    worker = threading.Thread(target=runner.catch_up)
    worker.start()
    try:
        assert wait_until(lambda: sql.checkpoint() == store.head(), 60)
        assert gated.checkpoint() == 0
    finally:
        gated.gate.set()
        worker.join(60)
    assert gated.positions == list(range(1, store.head() + 1))
    sql.close()
    store.close()


def test_a_failing_projection_is_reported_and_the_others_finish(
    small_log: str, tmp_path: Path
) -> None:
    store = open_event_store(small_log)
    sql = SqlProjection.open(f"sqlite:///{tmp_path / 'rm.sqlite'}")
    runner = ProjectionRunner(store, [FailingProjection("broken"), sql])
    with pytest.raises(
        ProjectionFailedError,
        match=r"read model broken cannot apply the event at position 1 \(StrategyRunStarted\): "
        "RuntimeError: disk on fire",
    ):
        runner.catch_up()
    assert sql.checkpoint() == store.head()
    sql.close()
    store.close()


def test_projection_names_must_be_unique(small_log: str) -> None:
    store = open_event_store(small_log)
    with pytest.raises(ValueError, match="unique"):
        ProjectionRunner(store, [GatedProjection("x"), GatedProjection("x")])
    store.close()


def test_shared_pages_decode_each_page_once_for_all_readers(small_log: str) -> None:
    store = open_event_store(small_log)
    head = store.head()
    everything = [event.position for event in store.read_all()]
    pages = SharedPages(store, page_size=1_000, readers=2, max_pages=16)
    first = [e.position for page in pages.read(0, head) for e in page]
    second = [e.position for page in pages.read(0, head) for e in page]
    assert first == second == everything
    assert pages.decoded_pages == -(-head // 1_000)  # once per page, not once per reader
    resumed = [e.position for page in pages.read(1_234, 3_000) for e in page]
    assert resumed == list(range(1_235, 3_001))
    lone = SharedPages(store, page_size=500, readers=3, max_pages=4)
    assert sum(len(page) for page in lone.read(0, head)) == head
    assert len(lone._pages) <= 4  # pages the other readers never took are bounded
    assert lone.decoded_pages == -(-head // 500)
    assert sum(len(page) for page in lone.read(0, head)) == head  # evicted pages: decoded again
    assert lone.decoded_pages == -(-head // 500) * 2 - 4
    store.close()


class FlakyProjection(GatedProjection):
    """Fails its first ``failures`` batches (a database restarting), then works."""

    def __init__(self, failures: int) -> None:
        super().__init__("flaky")
        self.gate.set()
        self.failures = failures

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("server has gone away")
        super().apply(batch)


def test_follow_retries_a_failing_projection_from_its_checkpoint(small_log: str) -> None:
    store = open_event_store(small_log)
    flaky = FlakyProjection(failures=3)
    runner = ProjectionRunner(store, [flaky], batch_size=1_000, retry_seconds=0.01)
    follower = threading.Thread(target=runner.follow)
    follower.start()
    try:
        assert wait_until(lambda: flaky.checkpoint() == store.head(), 60)
    finally:
        runner.stop()
        follower.join(30)
    assert flaky.failures == 0
    assert flaky.positions == list(range(1, store.head() + 1))
    store.close()
