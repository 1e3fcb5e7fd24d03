"""A live session against the fake exchange: trades, ends cleanly, resumes after a stop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.application.runs import RunConfigError
from domain.events.catalog import (
    BalanceAdjusted,
    FillRecorded,
    ReconciliationCompleted,
    StrategyRunStopped,
    VenueConnectionChanged,
)
from domain.market import Bar
from infra.eventstore.factory import open_event_store
from tests.live.support import check_agreement, exchange_at, groups, log_of, session


def test_a_session_trades_and_the_log_agrees_with_the_exchange(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    result = session(store, exchange, groups(120), max_bars=100)
    events = log_of(store, result.run_id)
    types = [type(e.payload) for e in events]
    assert types.count(VenueConnectionChanged) == 1
    assert types.count(ReconciliationCompleted) == 1
    assert FillRecorded in types
    assert isinstance(events[-1].payload, StrategyRunStopped)
    assert events[-1].payload.reason == "max bars reached"
    assert BalanceAdjusted not in types
    check_agreement(store, result.run_id, exchange)


class _Crash(BaseException):
    """The process dies here (nothing after it runs, no cleanup recorded)."""


class Crashing(list[tuple[Bar, ...]]):
    """Bar groups whose iteration dies after ``after`` of them."""

    def __init__(self, bars: list[tuple[Bar, ...]], after: int) -> None:
        super().__init__(bars)
        self.after = after

    def __iter__(self) -> Iterator[tuple[Bar, ...]]:
        for index, group in enumerate(list.__iter__(self)):
            if index == self.after:
                raise _Crash
            yield group


def test_a_crashed_session_resumes_from_its_log_and_reconciles(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    bars = groups(120)
    with pytest.raises(_Crash):
        session(store, exchange, Crashing(bars, 60))
    result = session(store, exchange, bars, max_bars=40)
    events = log_of(store, result.run_id)
    types = [type(e.payload) for e in events]
    assert types.count(ReconciliationCompleted) == 2
    assert isinstance(events[-1].payload, StrategyRunStopped)
    check_agreement(store, result.run_id, exchange)


def test_a_run_that_ended_cleanly_is_not_resumed_under_its_own_id(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    ended = session(store, exchange, groups(30), max_bars=10, run_id="live-desk-1")
    recorded = log_of(store, ended.run_id)
    with pytest.raises(RunConfigError, match="run live-desk-1 ended cleanly"):
        session(store, exchange, groups(30), max_bars=10, run_id="live-desk-1")
    assert log_of(store, ended.run_id) == recorded
