"""Trades across more than 24 hours and more than 1000 fills: the local exchange answers an
account trade query the way Binance documents it (at most 24 hours between startTime and
endTime, at most 1000 rows, no fromId with a time bound, the most recent trades without
either), and the ccxt venue still reads every fill exactly once, in order, both when
reconciling (``fills_since``) and when polling."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Decimal

import ccxt
import pytest

from adapters.exchange_local.server import RunningExchange
from adapters.venue.ccxt_trades import DAY_MS
from domain import ids
from domain.engine.ports import Filled, VenueOrder
from domain.events.types import OrderType, Side
from tests.live.exchange_support import (
    MINUTE_US,
    START_US,
    client,
    local_exchange,
    minute_bars,
    next_bar,
)
from tests.live.exchange_support import venue as venue_on

BARS = 3400
"""56 hours of 1m bars."""


def capped() -> AbstractContextManager[RunningExchange]:
    """Each bar fills 0.001 (of a bar's volume of 10): an order of 1.2 fills in 1200 bars."""
    return local_exchange(volume_cap=Decimal("0.0001"), series={"BTCUSDT": minute_bars(count=BARS)})


FIRST, SECOND = (
    VenueOrder(ids.request_ids("live-0123456789abcdef", n).order_id, "BTCUSDT", Side.BUY,
               OrderType.MARKET, Decimal(quantity))
    for n, quantity in ((1, "1.2"), (2, "0.5"))
)  # fmt: skip
GAP = 1500
"""Bars (25 hours) without a trade between the first order's fills and the second order."""


def test_the_exchange_refuses_what_binance_refuses_and_answers_the_most_recent() -> None:
    with capped() as running:
        binance = client(running)
        venue_on(running).submit(FIRST)
        next_bar(running, 1500)
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            binance.fetch_my_trades(
                "BTC/USDT", START_US // 1000, 10, {"until": START_US // 1000 + DAY_MS + 1}
            )
        with pytest.raises(ccxt.BadRequest, match="-1130"):
            binance.fetch_my_trades("BTC/USDT", None, 1001)
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            binance.fetch_my_trades("BTC/USDT", START_US // 1000, 10, {"fromId": 1})
        latest = binance.fetch_my_trades("BTC/USDT", None, 2)
        assert [trade["id"] for trade in latest] == ["1199", "1200"]
        after = binance.fetch_my_trades("BTC/USDT", START_US // 1000, 1000)
        assert len(after) == 1000  # a bound alone: the 24 hours after it, 1000 rows at most


def test_reconciliation_reads_every_fill_across_a_day_without_trades() -> None:
    with capped() as running:
        live = venue_on(running)
        live.submit(FIRST)
        next_bar(running, 1200 + GAP)
        live.submit(SECOND)
        next_bar(running, 600)
        fills = venue_on(running).fills_since(START_US, ["BTCUSDT"])
    assert [fill.venue_fill_id for fill in fills] == [str(n) for n in range(1, 1701)]
    assert fills[1200].time_us - fills[1199].time_us > DAY_MS * 1000
    assert sum(fill.quantity for fill in fills) == FIRST.quantity + SECOND.quantity


def test_polls_after_more_than_1000_fills_and_a_day_without_trades_report_each_once() -> None:
    with capped() as running:
        live = venue_on(running)
        live.submit(FIRST)
        next_bar(running, 1200 + GAP)
        first = [report for report in live.poll() if isinstance(report, Filled)]
        live.submit(SECOND)
        next_bar(running, 600)
        second = [report for report in live.poll() if isinstance(report, Filled)]
    assert [fill.venue_fill_id for fill in first] == [str(n) for n in range(1, 1201)]
    assert [fill.venue_fill_id for fill in second] == [str(n) for n in range(1201, 1701)]
    assert first[-1].leaves == second[-1].leaves == 0


def test_a_fill_stamped_before_its_order_was_placed_is_polled() -> None:
    """The local exchange stamps a fill with its bar's open: an order placed mid-bar fills
    at a time before its placement (the soak found the first poll missing it)."""
    with capped() as running:
        live = venue_on(running)
        running.exchange.book.clock.skip(MINUTE_US // 2)
        live.submit(SECOND)
        next_bar(running)
        fills = [report for report in live.poll() if isinstance(report, Filled)]
        placed = running.exchange.book.orders[1].time_ms
    assert [fill.venue_fill_id for fill in fills] == ["1"]
    assert running.exchange.book.executions[0].time_ms < placed
