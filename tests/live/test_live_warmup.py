"""Warm-up through ccxt against the local exchange: a new run's strategy reads the bars
before its first live bar and trades none of them; a restart warms up on the same bars, so
its replay lands on the log (the strategy below sizes its order by the bars it has seen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.exchange_local.faults import parse_faults
from adapters.exchange_local.server import (
    ExchangeOptions,
    RunningExchange,
    build_exchange,
    running_exchange,
)
from adapters.venue.ccxt_config import CcxtVenueConfig
from adapters.venue.ccxt_feed import CcxtBarFeed
from adapters.venue.ccxt_venue import CcxtVenue
from api.application.live import LiveParts, run_live
from api.application.runs import BacktestResult
from domain.events.catalog import BarClosed, OrderSubmitted, StrategyRunStopped
from domain.events.envelope import to_microseconds
from domain.live.backoff import Backoff
from domain.market import BarSeries
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.live.exchange_support import MINUTE_US, client, next_bar
from tests.live.support import SYMBOL, live_config, log_of
from tests.trading.helpers import wave_bars

WARM_UP = 5
STRATEGY = f"""
from decimal import Decimal
from pathlib import Path

from domain.strategy import Strategy

SEEN = Path(__file__).with_suffix(".seen")


class Remembers(Strategy):
    def warmup_bars(self) -> int:
        return {WARM_UP}

    def on_start(self) -> None:
        self.seen = 0

    def on_bar(self, bar) -> None:
        self.seen += 1
        with SEEN.open("a") as out:
            out.write(f"{{bar.time_us}} {{self.ctx.now_us}}\\n")
        if self.position(bar.symbol) == 0 and self.ctx.pending_quantity(bar.symbol) == 0:
            self.buy(bar.symbol, Decimal(self.seen) / 1000)
"""


class _Crash(BaseException):
    """The session process dies here."""


def _crash(_: str) -> None:
    raise _Crash


def _live(
    running: RunningExchange,
    store: EventStore,
    spec: str,
    *,
    crash_after: int | None = None,
    crash_when_ready: bool = False,
) -> BacktestResult:
    waits = 0

    def wait(_: float) -> None:
        nonlocal waits
        waits += 1
        if waits == crash_after:
            raise _Crash
        next_bar(running)

    venue = CcxtVenue(CcxtVenueConfig(url=running.url, symbols=(SYMBOL,)), client=client(running))
    feed = CcxtBarFeed(venue.client, [SYMBOL], "1m", poll_s=0, sleep=wait)
    parts = LiveParts(
        venue, feed, sleep=lambda _: None, backoff=Backoff(0.001, 0.001), settle_seconds=0.0
    )
    if crash_when_ready:
        parts.on_ready = _crash  # started and reconciled, no bar recorded yet
    return run_live(live_config(strategy=spec, params={}, max_bars=6), store, parts)


def _seen(path: Path) -> list[tuple[int, int]]:
    lines = path.read_text().splitlines()
    return [(int(a), int(b)) for a, b in (line.split() for line in lines)]


@pytest.mark.parametrize(
    ("crash", "before_first_bar"),
    [(False, False), (True, False), (True, True)],
    ids=["one-session", "restarted", "restarted-before-its-first-bar"],
)
def test_the_strategy_warms_up_on_history_and_a_restart_on_the_same(
    tmp_path: Path, crash: bool, before_first_bar: bool
) -> None:
    source = tmp_path / "remembers.py"
    source.write_text(STRATEGY)
    spec = f"{source}:Remembers"
    series = {"BTCUSDT": BarSeries("BTCUSDT", wave_bars(40, "BTCUSDT"))}
    options = ExchangeOptions(speed=0, history=12, faults=parse_faults(""))
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    with running_exchange(build_exchange(options, series)) as running:
        if before_first_bar:
            with pytest.raises(_Crash):
                _live(running, store, spec, crash_when_ready=True)
            next_bar(running, 2)  # the market moves on while the session is down
            source.with_suffix(".seen").unlink()  # its warm-up left nothing in the log
        if crash:
            with pytest.raises(_Crash):
                _live(running, store, spec, crash_after=3)
            first_session = _seen(source.with_suffix(".seen"))
            source.with_suffix(".seen").unlink()
        result = _live(running, store, spec)
    events = log_of(store, result.run_id)
    assert isinstance(events[-1].payload, StrategyRunStopped)
    bar_times = [
        to_microseconds(e.payload.open_time) for e in events if isinstance(e.payload, BarClosed)
    ]
    seen = _seen(source.with_suffix(".seen"))
    warm, live = seen[:WARM_UP], seen[WARM_UP:]
    first_us = bar_times[0]
    assert [time for time, _ in warm] == [
        first_us - (WARM_UP - i) * MINUTE_US for i in range(WARM_UP)
    ]
    assert all(now == time for time, now in warm)  # the strategy's clock at the warm-up bar
    assert [time for time, _ in live] == bar_times
    (order, *_) = [e.payload for e in events if isinstance(e.payload, OrderSubmitted)]
    assert order.quantity * 1000 == WARM_UP + 1  # none from history; the first live bar's
    if crash:
        assert first_session[:WARM_UP] == warm
