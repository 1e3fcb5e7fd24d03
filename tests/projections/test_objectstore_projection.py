"""End-of-day position snapshots in the object store: a local directory and S3 over HTTP."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.objectstore import ObjectStore, open_object_store
from domain.events.envelope import to_microseconds
from projections.objectstore import ObjectStoreProjection, snapshot_key
from projections.objectstore.snapshots import CHECKPOINT_KEY, SNAPSHOT_PREFIX
from projections.queries.state import fold
from tests.analytics.support import chunks, synthetic_events

BARS = 3_000  # 2024-01-01 and 2024-01-02 end inside the log; 2024-01-03 does not
ACCOUNT = "acct-1"


@pytest.fixture(params=["local", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "s3":
        return str(request.getfixturevalue("s3_url"))
    return f"file://{tmp_path / 'objects'}"


def everything(store: ObjectStore) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.list()}


def as_day_ends(end_us: int) -> tuple[dict[tuple[str, str], Decimal], int]:
    """Signed fill quantities and the last position before the first event at or after
    ``end_us`` in log order, computed independently: where the day is sealed. Runs trading
    side by side interleave, so an event of a later day can precede another run's last fill
    of the day in the log (a snapshot is of the log as it stood, not of event times)."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    last = 0
    for event in synthetic_events(BARS):
        if event.event_time_us >= end_us:
            break
        last = event.position
        if event.event_type == "FillRecorded":
            sign = 1 if event.data["side"] == "BUY" else -1
            totals[(event.data["strategy"], event.data["symbol"])] += sign * Decimal(
                event.data["quantity"]
            )
    return dict(totals), last


def test_a_snapshot_per_ended_day_with_end_of_day_positions(store_url: str) -> None:
    projection = ObjectStoreProjection.open(store_url)
    events = synthetic_events(BARS)
    for batch in chunks(events, 5_000):
        projection.apply(batch)

    store = projection.store
    assert list(store.list(SNAPSHOT_PREFIX)) == [
        snapshot_key(ACCOUNT, date(2024, 1, 1)),
        snapshot_key(ACCOUNT, date(2024, 1, 2)),
    ]
    for day in (date(2024, 1, 1), date(2024, 1, 2)):
        snapshot = projection.snapshot(ACCOUNT, day)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        want, last_of_day = as_day_ends(to_microseconds(midnight))
        got = {(p["strategy"], p["symbol"]): Decimal(p["quantity"]) for p in snapshot["positions"]}
        assert got == want
        assert snapshot["date"] == day.isoformat()
        assert snapshot["as_of_position"] == last_of_day
    assert projection.checkpoint() == len(events)
    assert projection.mismatches(fold(events)) == []
    assert json.loads(store.get(CHECKPOINT_KEY))["position"] == len(events)


def test_same_log_same_bytes_whatever_the_batching(tmp_path: Path) -> None:
    events = synthetic_events(BARS)
    one = ObjectStoreProjection.open(f"file://{tmp_path / 'one'}")
    one.apply(list(events))
    other = ObjectStoreProjection.open(f"file://{tmp_path / 'other'}")
    for batch in chunks(events, 997):
        other.apply(batch)
    assert everything(one.store) == everything(other.store)


def test_crash_before_the_checkpoint_rewrites_identical_objects(store_url: str) -> None:
    events = synthetic_events(BARS)
    projection = ObjectStoreProjection.open(store_url)
    projection.apply(list(events[:10_000]))
    old_checkpoint = projection.store.get(CHECKPOINT_KEY)
    projection.apply(list(events[10_000:]))
    finished = everything(projection.store)
    # A crash after the snapshots were written but before the checkpoint was:
    projection.store.put(CHECKPOINT_KEY, old_checkpoint)

    restarted = ObjectStoreProjection.open(store_url)
    assert restarted.checkpoint() == 10_000
    restarted.apply(list(events))  # re-delivered from the start: old events are skipped
    assert everything(restarted.store) == finished
    assert restarted.mismatches(fold(events)) == []


def test_mismatches_sees_a_wrong_position(tmp_path: Path) -> None:
    events = synthetic_events(BARS)
    projection = ObjectStoreProjection.open(f"file://{tmp_path / 'objects'}")
    projection.apply(list(events))
    state = fold(events)
    key = next(iter(state.positions))
    state.positions[key] += Decimal("0.1")
    assert projection.mismatches(state) == [
        f"position {'/'.join(key)}: objectstore {state.positions[key] - Decimal('0.1')}, "
        f"log {state.positions[key]}"
    ]


def test_reset_removes_snapshots_and_checkpoint_only(tmp_path: Path) -> None:
    store = open_object_store(f"file://{tmp_path / 'objects'}")
    store.put("backtests/run-1/metrics.json", b"{}")
    projection = ObjectStoreProjection(store)
    projection.apply(list(synthetic_events(BARS)))
    projection.reset()
    assert list(store.list()) == ["backtests/run-1/metrics.json"]
    assert ObjectStoreProjection(store).checkpoint() == 0
