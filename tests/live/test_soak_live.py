"""A shortened soak: 5 SIGKILLs of a real live session process at random instants, trading
through ccxt with ``lh exchange serve`` in another process (see ``tests.live.soak``)."""

from __future__ import annotations

from pathlib import Path

from tests.live.soak import soak


def test_killed_sessions_lose_nothing_and_send_nothing_twice(tmp_path: Path) -> None:
    result = soak(f"sqlite:///{tmp_path}/events.sqlite", tmp_path, kills=5, bars=20)
    assert result.kills == 5
    assert result.orders_at_exchange > 0
    assert result.reconciliations == result.starts == 6


def test_killed_sessions_restart_from_their_snapshots(tmp_path: Path) -> None:
    """The same with a snapshot every 3 bar times: restarts load the latest one (none warns
    that it replays the whole log, unless killed before the first) and still lose nothing
    and send nothing twice."""
    result = soak(
        f"sqlite:///{tmp_path}/events.sqlite", tmp_path, kills=5, bars=20, snapshot_every=3
    )
    assert result.kills == 5
    assert result.snapshots > 0
    assert result.reconciliations == result.starts == 6
    assert result.full_replays < result.kills  # only a run killed before its first snapshot
