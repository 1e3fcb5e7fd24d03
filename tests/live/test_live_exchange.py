"""Live sessions through ccxt against the local exchange (``lh exchange serve``'s engine, in
this process), one per fault kind: at the end the log, the exchange and the session's book
agree (every exchange fill recorded once, no client order id sent twice, the position)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.exchange_local.server import RunningExchange
from adapters.venue.ccxt_config import CcxtVenueConfig
from adapters.venue.ccxt_feed import CcxtBarFeed
from adapters.venue.ccxt_venue import CcxtVenue
from api.application.live import LiveParts, run_live
from api.application.runs import BacktestResult
from domain.events.catalog import (
    FillRecorded,
    OrderSubmitted,
    ReconciliationCompleted,
    StrategyRunStopped,
)
from domain.live.backoff import Backoff
from domain.market import BarSeries
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.live.exchange_support import client, local_exchange, next_bar
from tests.live.support import SYMBOL, live_config, log_of
from tests.trading.helpers import wave_bars

FAULTS = [
    "",
    "http429=0.05,seed=1",
    "http5xx=0.05,seed=2",
    "drop=0.05,seed=3",
    "lost_response=0.3,seed=4",
    "duplicate_fills=0.3,seed=5",
    "reorder_fills=0.3,seed=6",
    "latency=5ms,seed=7",
]


class _Crash(BaseException):
    """The session process dies here."""


def _live(
    running: RunningExchange,
    store: EventStore,
    bars: int,
    *,
    crash_after: int | None = None,
    lose_open_every: int = 0,
) -> BacktestResult:
    """A session (a new adapter, as a new process would have) of ``bars`` bars; the market
    moves a bar each time the feed waits; ``crash_after`` waits the process dies; every
    ``lose_open_every`` waits the exchange restarts and forgets its open orders."""
    waits = 0

    def wait(_: float) -> None:
        nonlocal waits
        waits += 1
        if waits == crash_after:
            raise _Crash
        if lose_open_every and waits % lose_open_every == 0:
            running.exchange.restart_losing_open_orders()
        next_bar(running)

    venue = CcxtVenue(CcxtVenueConfig(url=running.url, symbols=(SYMBOL,)), client=client(running))
    feed = CcxtBarFeed(venue.client, [SYMBOL], "1m", poll_s=0, sleep=wait)
    parts = LiveParts(
        venue, feed, sleep=lambda _: None, backoff=Backoff(0.001, 0.001), settle_seconds=0.0
    )
    return run_live(live_config(max_bars=bars), store, parts)


@pytest.mark.parametrize("faults", FAULTS, ids=lambda spec: spec.split("=")[0] or "none")
def test_a_session_under_each_fault_agrees_with_the_exchange(tmp_path: Path, faults: str) -> None:
    _check(tmp_path, faults, crash_after=None)


def test_a_crashed_session_resumes_against_the_exchange(tmp_path: Path) -> None:
    _check(tmp_path, "lost_response=0.3,duplicate_fills=0.3,seed=8", crash_after=30)


def test_an_exchange_restart_that_loses_open_orders(tmp_path: Path) -> None:
    _check(tmp_path, "", crash_after=None, lose_open_every=3)


def _check(
    tmp_path: Path, faults: str, *, crash_after: int | None, lose_open_every: int = 0
) -> None:
    series = {"BTCUSDT": BarSeries("BTCUSDT", wave_bars(80, "BTCUSDT"))}
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    with local_exchange(faults, series=series) as running:
        if crash_after is not None:
            with pytest.raises(_Crash):
                _live(running, store, 60, crash_after=crash_after)
        result = _live(
            running, store, 60 if crash_after is None else 30, lose_open_every=lose_open_every
        )
        book = running.exchange.book
        orders = [*book.orders.values(), *book.lost_orders]
        assert bool(book.lost_orders) == bool(lose_open_every)
        executions = list(book.executions)
        base = book.balances.get("BTC", Decimal(0))
    events = log_of(store, result.run_id)
    assert isinstance(events[-1].payload, StrategyRunStopped)
    reconciled = [e for e in events if isinstance(e.payload, ReconciliationCompleted)]
    assert len(reconciled) == (1 if crash_after is None else 2)
    sent = Counter(order.client_order_id for order in orders)
    assert sent and all(count == 1 for count in sent.values()), sent
    submitted = {e.payload.order_id for e in events if isinstance(e.payload, OrderSubmitted)}
    assert set(sent) <= submitted
    fills = [e.payload for e in events if isinstance(e.payload, FillRecorded)]
    assert Counter(f.venue_fill_id for f in fills) == Counter(str(x.trade_id) for x in executions)
    assert sum((f.side.sign * f.quantity for f in fills), Decimal(0)) == base
