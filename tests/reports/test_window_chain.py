"""The chain check a report's single pass makes (``WindowChainCheck``) finds what
``verify_log`` finds over the same covered positions: on an intact log, and on one edited
in the window, in a stretch after it that the window comes back to, and after the window;
also where the pass decodes the window's records for a fold (the check then takes its part
of each record from that parse), even a fold that rewrites the events it is given."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from domain.events.catalog import VenueConnectionChanged
from domain.events.envelope import Actor, NewEvent, RecordedEvent
from domain.events.types import ActorKind
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.integrity import IntegrityReport, verify_log
from projections.queries.reports import window_chain
from projections.queries.reports.source import Fold, ReportScope, ReportSource

DAY_US = 86_400_000_000
T0_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
WINDOW = (datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))

DAYS = [0] * 5 + [1] * 4 + [3] * 9 + [1] * 5 + [2] * 12 + [1] * 3 + [4] * 7
"""Each position's day after 2024-01-01: the window (day 1) is 6..9, 19..23 and 36..38,
with 10 records past it between 9 and 19 and the log going on after 38."""


def _event(position: int, day: int) -> NewEvent:
    return NewEvent(
        stream_id=f"venue-{position % 3}",
        stream_version=(position + 2) // 3,
        payload=VenueConnectionChanged(venue="sim", connected=True, reason=f"r{position}"),
        event_id=f"e{position}",
        event_time_us=T0_US + day * DAY_US + position,
        actor=Actor(ActorKind.OPERATOR, "alice", "A"),
    )


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "events.sqlite"
    store = open_event_store(f"sqlite:///{path}")
    store.append([_event(p, day) for p, day in enumerate(DAYS, start=1)])
    store.close()
    return path


def _edit(path: Path, position: int) -> None:
    """Change a stored payload in place, as someone with write access to the file would."""
    with sqlite3.connect(path) as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid=?", (position,)
        ).fetchone()
        record = orjson.loads(state)
        record["payload"]["reason"] = "edited"
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?",
            (orjson.dumps(record, option=orjson.OPT_SORT_KEYS), position),
        )


def _rewrite(event: RecordedEvent) -> None:
    event.data["reason"] = "rewritten by a fold"


def _in_the_pass(
    store: EventStore, folds: list[Fold]
) -> tuple[tuple[int, int], IntegrityReport | None]:
    source = ReportSource.open(store, ReportScope("compliance", *WINDOW), check_chain=True)
    source.fold_once(folds)
    return source.covered(), source.chain_check()


@pytest.mark.parametrize("decoded", [False, True], ids=["not-decoded", "decoded"])
@pytest.mark.parametrize("held", [window_chain.HELD, 4])
@pytest.mark.parametrize("edited", [(), (7, 12, 30, 40)])
def test_the_pass_finds_what_verify_log_finds_over_the_covered_range(
    log_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: int,
    edited: tuple[int, ...],
    decoded: bool,
) -> None:
    monkeypatch.setattr(window_chain, "HELD", held)
    monkeypatch.setattr(window_chain, "CHUNK", 2)
    for position in edited:
        _edit(log_path, position)
    store = open_event_store(f"sqlite:///{log_path}")
    try:
        folds = [Fold(_rewrite, frozenset({"VenueConnectionChanged"}))] if decoded else []
        (first, last), in_pass = _in_the_pass(store, folds)
        alone = verify_log(store, first=first, last=last)
    finally:
        store.close()
    assert (first, last) == (6, 38)
    assert in_pass is not None
    assert in_pass.as_dict() == alone.as_dict()
    assert [f.position for f in in_pass.findings] == [p for p in edited if p <= last]


def test_an_empty_window_has_no_chain_check(log_path: Path) -> None:
    store = open_event_store(f"sqlite:///{log_path}")
    try:
        empty = ReportScope(
            "compliance", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC)
        )
        source = ReportSource.open(store, empty, check_chain=True)
        source.fold_once([])
        assert source.covered() == (0, 0)
        assert source.chain_check() is None
    finally:
        store.close()
