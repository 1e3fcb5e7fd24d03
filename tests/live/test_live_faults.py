"""Live sessions against the fake exchange under each fault, each crashed and resumed: the
log, the exchange and the session's book agree at the end; no order is sent twice."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.application.live_connection import ClockDriftError
from api.application.live_session import BREAKER
from domain.engine.ports import VenueOrder, VenueReport
from domain.events.catalog import (
    OrderRejected,
    OrderSubmitted,
    ReconciliationCompleted,
    StrategyRunStopped,
    TradingStateChanged,
    VenueConnectionChanged,
)
from domain.events.envelope import RecordedEvent
from domain.events.types import TradingState
from domain.market import Bar
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.live.fake_exchange import FakeExchange
from tests.live.support import check_agreement, exchange_at, groups, log_of, session

Fault = Callable[[FakeExchange, int], None]


class _Crash(BaseException):
    """The process dies here."""


class Scripted(list[tuple[Bar, ...]]):
    """Bar groups that apply ``fault`` before each and die after ``crash_after`` of them;
    ``clock`` moves 10 s per bar (the breaker's time)."""

    def __init__(
        self,
        bars: list[tuple[Bar, ...]],
        exchange: FakeExchange,
        fault: Fault,
        crash_after: int | None = None,
    ) -> None:
        super().__init__(bars)
        self.exchange, self.fault, self.crash_after = exchange, fault, crash_after
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def __iter__(self) -> Iterator[tuple[Bar, ...]]:
        for index, group in enumerate(list.__iter__(self)):
            if index == self.crash_after:
                raise _Crash
            self.now += 10.0
            self.fault(self.exchange, index)
            yield group


def outage(exchange: FakeExchange, index: int) -> None:
    exchange.faults.down = 30 <= index < 50


def failed_submits(exchange: FakeExchange, index: int) -> None:
    if index in (20, 40, 60):
        exchange.faults.fail_submits = 1


def lost_responses(exchange: FakeExchange, index: int) -> None:
    if index in (20, 40, 60):
        exchange.faults.lose_responses = 1


def duplicate_fills(exchange: FakeExchange, index: int) -> None:
    exchange.faults.duplicate_fills = True


FAULTS = {
    "outage": outage,
    "failed submits": failed_submits,
    "lost responses": lost_responses,
    "duplicate fills": duplicate_fills,
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_then_crash_then_resume(tmp_path: Path, name: str) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    bars = groups(140)
    first = Scripted(bars, exchange, FAULTS[name], crash_after=90)
    with pytest.raises(_Crash):
        session(store, exchange, first, monotonic=first.clock)
    exchange.faults.down = False
    second = Scripted(bars, exchange, lambda e, i: None)
    second.now = first.now
    result = session(store, exchange, second, monotonic=second.clock, max_bars=40)
    events = log_of(store, result.run_id)
    assert [type(e.payload) for e in events].count(ReconciliationCompleted) == 2
    assert isinstance(events[-1].payload, StrategyRunStopped)
    check_agreement(store, result.run_id, exchange)


def test_an_outage_opens_the_breaker_halts_trading_and_sends_nothing(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    bars = Scripted(groups(120), exchange, outage)
    result = session(store, exchange, bars, monotonic=bars.clock, max_bars=110)
    events = log_of(store, result.run_id)
    changes = [e.payload for e in events if isinstance(e.payload, TradingStateChanged)]
    assert [(c.new_state, c.operator) for c in changes] == [
        (TradingState.HALTED, BREAKER),
        (TradingState.ACTIVE, BREAKER),
    ]
    assert "consecutive venue failures" in changes[0].reason
    links = [e.payload.connected for e in events if isinstance(e.payload, VenueConnectionChanged)]
    assert links[0] is True and False in links and links[-1] is True
    halted = next(i for i, e in enumerate(events) if e.payload is changes[0])
    resumed = next(i for i, e in enumerate(events) if e.payload is changes[1])
    sent_while_open = [
        e.payload.order_id for e in events[halted:resumed] if isinstance(e.payload, OrderSubmitted)
    ]
    assert not set(sent_while_open) & set(exchange.submits_received)
    check_agreement(store, result.run_id, exchange)


def test_a_lost_answer_is_looked_up_by_client_id_never_resent(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    bars = Scripted(groups(120), exchange, lambda e, i: lost_responses(e, i - 9))
    result = session(store, exchange, bars, monotonic=bars.clock, max_bars=100)
    events = log_of(store, result.run_id)
    rejected = [e for e in events if isinstance(e.payload, OrderRejected)]
    assert not rejected
    check_agreement(store, result.run_id, exchange)


def test_a_venue_clock_too_far_off_is_refused_on_record(tmp_path: Path) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = exchange_at()
    exchange.faults.drift_us = 5_000_000
    with pytest.raises(ClockDriftError, match="over the 1000 ms bound"):
        session(store, exchange, groups(10))
    assert exchange.submits_received == []


class DyingExchange(FakeExchange):
    """The session dies inside its ``dying``-th submit, before or after the exchange got it."""

    dying: int = 2
    after_accepting: bool = True

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        self.dying -= 1
        if self.dying == 0 and not self.after_accepting:
            raise _Crash
        reports = super().submit(order)
        if self.dying == 0:
            raise _Crash
        return reports


@pytest.mark.parametrize("after_accepting", [True, False], ids=["accepted", "never-sent"])
def test_a_crash_inside_a_submit_is_resolved_by_client_id(
    tmp_path: Path, after_accepting: bool
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    exchange = DyingExchange()
    exchange.after_accepting = after_accepting
    bars = groups(140)
    with pytest.raises(_Crash):
        session(store, exchange, bars)
    submitted = [e.payload for e in _all_events(store) if isinstance(e.payload, OrderSubmitted)]
    uncertain = submitted[-1].order_id
    assert uncertain in exchange.submits_received or not after_accepting
    result = session(store, exchange, bars, max_bars=20)
    events = log_of(store, result.run_id)
    reconciled = [e.payload for e in events if isinstance(e.payload, ReconciliationCompleted)]
    expected = "answer was lost" if after_accepting else "never reached the venue"
    assert any(expected in line for line in reconciled[-1].mismatches), reconciled[-1]
    assert exchange.submits_received.count(uncertain) == int(after_accepting)
    check_agreement(store, result.run_id, exchange)


def _all_events(store: EventStore) -> list[RecordedEvent]:
    return list(store.read_all())
