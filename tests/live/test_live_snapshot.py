"""A live restart from a snapshot reaches the state a full replay of the log reaches, and a
snapshot that is missing or does not match its ``RunSnapshotSaved`` falls back to the replay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.objectstore import open_object_store
from api.application.live import check_deployment
from api.application.runs import RunConfigError
from domain.events.catalog import ReconciliationCompleted, RunSnapshotSaved
from domain.events.codec import payload_hash
from domain.strategy.builtins import SmaCross
from domain.strategy.registry import register
from domain.trades import ClosedTrade, EquityPoint
from infra.eventstore.factory import open_event_store
from tests.live.support import (
    check_agreement,
    exchange_at,
    groups,
    live_config,
    log_of,
    session,
)
from tests.live.test_live_session import Crashing, _Crash

FALLBACK = "replaying the whole log"


@register
class Unpicklable(SmaCross):
    """``sma_cross`` holding a lambda: it cannot be pickled."""

    name = "test_unpicklable"

    def on_start(self) -> None:
        super().on_start()
        self.format = lambda value: f"{value}"


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))


@dataclass(frozen=True)
class Outcome:
    """What a restarted session recorded and ended with."""

    payload_hashes: list[str]
    final_equity: Decimal
    trades: list[ClosedTrade]
    equity_curve: list[EquityPoint]


def _restarted(
    tmp_path: Path,
    name: str,
    damage: Callable[[Path], None] | None,
    *,
    crash_at: int = 65,
    every: int = 10,
) -> Outcome:
    """A session crashed after ``crash_at`` bar times (a snapshot every ``every``) and
    restarted for 40 more; ``damage`` is done to the snapshot file in between. The payload
    hashes of its log (a snapshot's bytes hold wall-clock times: its hash and size are left
    out) and its final state."""
    store = open_event_store(f"sqlite:///{tmp_path}/{name}.sqlite")
    exchange, bars, directory = exchange_at(), groups(crash_at + 80), tmp_path / name
    objects = open_object_store(f"file://{directory}")
    with pytest.raises(_Crash):
        session(store, exchange, Crashing(bars, crash_at), snapshots=objects, snapshot_every=every)
    (snapshot,) = (directory / "live-snapshots").iterdir()
    if damage is not None:
        damage(snapshot)
    result = session(store, exchange, bars, max_bars=40, snapshots=objects, snapshot_every=every)
    check_agreement(store, result.run_id, exchange)
    events = log_of(store, result.run_id)
    taken = [e.payload for e in events if isinstance(e.payload, RunSnapshotSaved)]
    assert [t.bar_times for t in taken] == list(range(every, crash_at + 41, every))
    assert sum(isinstance(e.payload, ReconciliationCompleted) for e in events) == 2
    volatile = {"sha256", "size_bytes"}
    hashes = [
        payload_hash(e.payload.model_dump(mode="json", exclude=volatile))
        if isinstance(e.payload, RunSnapshotSaved)
        else e.payload_hash
        for e in events
    ]
    return Outcome(hashes, result.final_equity, result.trades, list(result.equity_curve))


@pytest.mark.parametrize(("crash_at", "every"), [(65, 10), (23, 7), (50, 25), (41, 1)])
def test_a_restart_from_the_snapshot_records_what_a_full_replay_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, crash_at: int, every: int
) -> None:
    with caplog.at_level(logging.WARNING):
        from_snapshot = _restarted(tmp_path, "snapshot", None, crash_at=crash_at, every=every)
    assert FALLBACK not in caplog.text
    with caplog.at_level(logging.WARNING):
        replayed = _restarted(
            tmp_path, "replay", lambda path: path.unlink(), crash_at=crash_at, every=every
        )
    assert "no snapshot at" in caplog.text
    assert FALLBACK in caplog.text
    assert from_snapshot == replayed


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (_corrupt, "does not hash to the SHA-256 the log recorded"),
        (lambda path: path.write_bytes(b"{}\n"), "unreadable snapshot"),
        (
            lambda path: path.write_bytes(path.read_bytes().replace(b'"covers": ', b'"covers": 1')),
            "is not the snapshot the run's log recorded",
        ),
    ],
)
def test_a_snapshot_that_does_not_match_the_log_falls_back_to_the_full_replay(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[Path], None],
    why: str,
) -> None:
    reference = _restarted(tmp_path, "reference", None)
    with caplog.at_level(logging.WARNING):
        damaged = _restarted(tmp_path, "damaged", damage)
    assert why in caplog.text
    assert FALLBACK in caplog.text
    assert damaged == reference


def test_a_strategy_that_cannot_be_pickled_trades_on_without_snapshots(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange, directory = exchange_at(), tmp_path / "snapshots"
    with caplog.at_level(logging.WARNING):
        result = session(
            store,
            exchange,
            groups(60),
            max_bars=50,
            strategy="test_unpicklable",
            snapshots=open_object_store(f"file://{directory}"),
            snapshot_every=5,
        )
    assert caplog.text.count("its strategy cannot be saved") == 1
    events = log_of(store, result.run_id)
    assert not any(isinstance(e.payload, RunSnapshotSaved) for e in events)
    assert not any(directory.rglob("*.snapshot"))
    check_agreement(store, result.run_id, exchange)


def test_a_negative_snapshot_interval_is_refused_before_anything_is_recorded(
    tmp_path: Path,
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    with pytest.raises(RunConfigError, match="--snapshot-every must be 0 or more, got -1"):
        check_deployment(live_config(snapshot_every=-1), store)
    assert store.head() == 0
