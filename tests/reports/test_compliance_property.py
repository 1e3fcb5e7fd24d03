"""Property: on any small log, every figure of the compliance report equals the independent
replay's. Logs are random scripts of bars, signals, decisions (approved or not), orders, partial
fills, cancels (instant or not), venue rejections, kill switches, limit and state changes at
random gaps, reported over a random window with random thresholds."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.types import OrderType, Side, TradingState
from infra.eventstore.factory import open_event_store
from projections.queries.reports.compliance import generate_compliance
from projections.queries.reports.compliance.replay import replay_figures
from projections.queries.reports.source import ReportScope, ReportSource, Thresholds
from tests.reports.tiny_log import T0, TinyLog, rule

HALF_DAY = 43_200
GAPS = st.sampled_from([0, 0, 0.25, 0.7, 1, 1, 30, 61, 600, 3_600, HALF_DAY])
ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            (
                *("bar", "bar", "order", "order", "order", "fill", "fill", "fill"),
                *("cancel", "cancel", "reject", "kill", "release", "limit", "state"),
            )
        ),
        GAPS,
        st.integers(0, 10_000),
    ),
    min_size=8,
    max_size=40,
)


def play(actions: list[tuple[str, float, int]]) -> TinyLog:
    """Build a consistent log from a script: ``n`` picks symbols, sides, sizes and prices."""
    log, now, names = TinyLog(), 0.0, 0
    working: dict[str, Decimal] = {}  # order name -> quantity still to fill
    engaged = False
    for action, gap, n in actions:
        now += gap
        symbol = "XY"[n % 2]
        price = str(90 + n % 21)
        if action == "bar":
            log.bar(now, symbol, str(int(price) + 2), str(int(price) - 2), price, str(n % 4 * 5))
        elif action == "order":
            names += 1
            name, side = str(names), (Side.BUY, Side.SELL)[n // 2 % 2]
            quantity = str(1 + n % 5)
            passed = n % 7 != 0
            kind = (OrderType.MARKET, OrderType.LIMIT)[n // 3 % 2]
            rules = [rule("max_order_quantity", quantity, "5"), rule("collar", "1", "2", passed)]
            reference = str(90 + n // 5 % 21)
            log.decide(now, name, symbol, side, quantity, price, reference, rules, kind)
            if passed or n % 11 == 0:  # now and then an order without an approving decision
                log.submit(
                    now,
                    name,
                    symbol,
                    side,
                    quantity,
                    kind,
                    reference if kind is OrderType.LIMIT else None,
                )
                if n % 3:
                    log.accept(now + 0.001, name)
                working[name] = Decimal(quantity)
        elif working and action in ("fill", "cancel", "reject"):
            name = sorted(working)[n % len(working)]
            if action == "fill":
                size = min(working[name], Decimal(1 + n % 3))
                log.fill(now, name, str(size), price, str(Decimal(n % 5) / 100))
                working[name] -= size
                if not working[name]:
                    del working[name]
            elif action == "cancel":
                log.cancel(now, name, "stale", done=n % 4 != 0)
                del working[name]
            else:
                log.venue_reject(now, name)
                del working[name]
        elif action == "kill" and not engaged:
            engaged = True
            cause = log.kill(now, "bob", "drill")
            for name in sorted(working):
                log.cancel(now, name, "kill switch: drill", cause=cause)
            working.clear()
        elif action == "release" and engaged:
            engaged = False
            log.release(now, "bob", "over")
        elif action == "limit":
            log.limit(now, "max_order_quantity", str(n), str(n + 1), "alice", "tune")
        elif action == "state":
            old, new = (TradingState.ACTIVE, TradingState.HALTED)[:: 1 - 2 * (n % 2)]
            log.state(now, old, new, "carol")
    return log


@settings(max_examples=150, deadline=None)
@given(
    actions=ACTIONS,
    window=st.tuples(st.integers(0, 2), st.integers(1, 4)),
    limits=st.fixed_dictionaries(
        {
            "orders_per_second": st.integers(0, 3),
            "messages_per_day": st.integers(0, 20),
            "order_to_trade_ratio": st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2)]),
            "cancel_ratio": st.sampled_from([Decimal("0.1"), Decimal("0.5"), Decimal(1)]),
            "instant_cancel_us": st.sampled_from([700_000, 1_000_000, 61_000_000]),
            "restricted_symbols": st.sampled_from([(), ("X",)]),
            "max_position": st.sampled_from([None, Decimal(0), Decimal(3)]),
            "burst_messages": st.integers(0, 3),
            "wash_window_us": st.sampled_from([1_000_000, 120_000_000]),
        }
    ),
)
def test_figures_equal_the_replay(
    actions: list[tuple[str, float, int]],
    window: tuple[int, int],
    limits: dict[str, Any],
) -> None:
    log = play(actions)
    start = T0 + timedelta(seconds=window[0] * HALF_DAY)
    scope = ReportScope(
        "compliance",
        start,
        start + timedelta(seconds=window[1] * HALF_DAY),
        thresholds=Thresholds(**limits),
    )
    with tempfile.TemporaryDirectory() as folder:
        store = open_event_store(f"sqlite:///{Path(folder) / 'log.sqlite'}")
        try:
            if log.events:
                log.write(store)
            source = ReportSource.open(store, scope)
            document, replayed = generate_compliance(source, source.scope)
            assert document.figures() == replayed
            assert replay_figures(source, source.scope) == replayed  # its own read of the log
        finally:
            store.close()
