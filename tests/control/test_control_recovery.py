"""Recovery re-applies an operator's request exactly where the session applied it, even after
bar times that recorded nothing (no trace of them in the log but the run's market time)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.application.commands import CancelOrder
from api.application.control import find_run, request_command
from api.application.paper import run_paper
from api.application.recovery import read_run
from api.application.runs import BacktestConfig
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.control.helpers import bidder
from tests.trading.helpers import bar

RUN = "placed"


class CrashError(Exception):
    pass


def config(strategy: str) -> BacktestConfig:
    """Flat bars: the bid 5 % under never fills; daily valuation: the bar times in between
    record nothing while the bid works."""
    flat = [bar(i, "100", "100.5", "99.5", "100") for i in range(60)]
    return BacktestConfig(
        bars={"BTC": flat}, strategy=strategy, params={}, run_id=RUN, valuation_interval="1d"
    )


def cancel_at(store: EventStore, bars: int, crash_at: int | None) -> Callable[[int, int], None]:
    """At bar time ``bars`` an operator cancels the working bid (applied after the next bar
    time); the strategy then bids again, which shows where the cancel happened."""
    sent: list[str] = []

    def progress(done: int, _total: int) -> None:
        if done == bars and not sent:
            recorded = read_run(store, RUN)
            assert recorded is not None
            [order] = recorded.open_orders
            target = find_run(store, RUN)
            sent.append(request_command(store, target, CancelOrder(
                order_id=order, operator="alice", reason="stale bid")))  # fmt: skip
        if done == crash_at:
            raise CrashError

    return progress


def run_log(url: str) -> list[tuple[str, dict[str, object]]]:
    store = open_event_store(url)
    try:
        return [
            (e.event_type, {k: v for k, v in e.data.items() if k != "request_id"})
            for e in store.read_all()
            if e.event_type not in ("OperatorCommandRequested", "ReconciliationCompleted")
            and not e.stream_id.startswith("control-")
        ]
    finally:
        store.close()


def test_a_request_applied_after_silent_bar_times_is_replayed_at_its_place(
    tmp_path: Path,
) -> None:
    strategy = bidder(tmp_path)
    smooth, crashed = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    store = open_event_store(smooth)
    run_paper(config(strategy), store, speed=0, progress=cancel_at(store, 12, None))
    store.close()
    store = open_event_store(crashed)
    try:
        with pytest.raises(CrashError):
            run_paper(config(strategy), store, speed=0, progress=cancel_at(store, 12, 30))
        run_paper(config(strategy), store, speed=0)  # replays the cancel, then goes on
    finally:
        store.close()
    events = run_log(crashed)
    assert events == run_log(smooth)
    kinds = [kind for kind, _ in events]
    [applied] = [data for kind, data in events if kind == "OperatorCommandApplied"]
    assert applied["market_time_us"] > 0 and kinds.count("OrderSubmitted") == 2
