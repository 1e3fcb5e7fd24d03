"""The ccxt bar feed on the local exchange: warm-up history, closed bars only (never the one
forming), each once and in order, validated like bars from a file."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from adapters.venue.ccxt_feed import CcxtBarFeed, FeedDataError
from domain.engine.live_ports import VenueUnavailableError
from domain.market import BarSeries
from tests.live.exchange_support import HISTORY, client, local_exchange, minute_bars, next_bar


def test_warmup_then_each_closed_bar_once() -> None:
    bars = minute_bars()
    with local_exchange() as running:
        feed = CcxtBarFeed(client(running, None), ["BTCUSDT"], "1m")
        assert feed.warmup(3) == {"BTCUSDT": list(bars[HISTORY - 3 : HISTORY])}
        assert feed.poll_once() == []
        next_bar(running, 2)
        assert feed.poll_once() == [[bars[HISTORY]], [bars[HISTORY + 1]]]
        assert feed.poll_once() == []
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            next_bar(running)

        feed = CcxtBarFeed(client(running, None), ["BTC/USDT"], "1m", poll_s=0.5, sleep=sleep)
        feed.warmup(1)
        group = next(iter(feed))
        assert [(bar.symbol, bar.time_us) for bar in group] == [
            ("BTC/USDT", bars[HISTORY + 2].time_us)
        ]
        assert waits == [0.5]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (lambda bar: replace(bar, high=bar.low - 1), "high"),
        (lambda bar: replace(bar, time_us=bar.time_us + 120_000_000), "gap"),
    ],
)
def test_bars_failing_validation_end_the_feed(broken: object, message: str) -> None:
    bars = list(minute_bars(count=12))
    later = range(HISTORY + 1, len(bars)) if message == "gap" else [HISTORY + 1]
    for index in later:
        bars[index] = broken(bars[index])  # type: ignore[operator]
    with local_exchange(series={"BTCUSDT": BarSeries("BTCUSDT", bars)}) as running:
        feed = CcxtBarFeed(client(running, None), ["BTCUSDT"], "1m")
        feed.warmup(2)
        next_bar(running, 4)
        with pytest.raises(FeedDataError, match=message):
            feed.poll_once()


def test_no_answer_raises_venue_unavailable() -> None:
    with local_exchange("http5xx=1") as running:
        feed = CcxtBarFeed(client(running, None), ["BTCUSDT"], "1m")
        with pytest.raises(VenueUnavailableError):  # loading the markets
            feed.warmup(2)
        running.exchange.faults.probabilities.clear()
        feed.warmup(2)
        running.exchange.faults.probabilities["drop"] = 1.0
        next_bar(running)
        with pytest.raises(VenueUnavailableError):
            feed.poll_once()


def test_bars_keep_the_exchange_prices_exactly() -> None:
    with local_exchange() as running:
        (bar,) = CcxtBarFeed(client(running, None), ["BTCUSDT"], "1m").warmup(1)["BTCUSDT"]
        assert (bar.open, bar.close, bar.volume) == (Decimal(30040), Decimal(30045), Decimal(10))
