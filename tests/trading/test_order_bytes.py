"""The order path records the same bytes as before it was made faster.

Fixed backtests (market orders; stops and cancels; partial fills under a volume cap) are
recorded into SQLite, and every stored row (stream, version, type, state minus the one field
that says when it was recorded) is digested. The pinned digests are what the tree before the
order-path rewrite gave: a change to event encoding or to the order path that moves one byte
fails here, and must be a documented, versioned change instead.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from adapters.marketdata import load_bars
from adapters.venue.simulated import SimulatedVenue, SimulatedVenueConfig
from api.application.backtest import BacktestConfig, run_backtest
from domain.engine.journal import Journal
from domain.engine.orders import EngineCounters, OrderManager
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.engine.recorder import Recorder
from domain.events.catalog import OrderAccepted, RuleOutcome
from domain.events.codec import canonical_json, encoded_event, payload_json, serialized_row
from domain.events.envelope import SYSTEM, NewEvent
from domain.events.types import CancelOrigin, OrderType, Side, TimeInForce
from domain.portfolio import Book
from domain.risk.engine import RiskEngine
from domain.risk.limits import CompiledLimits
from domain.risk.rules import ALL_RULES, Counters, OrderFacts, Rule
from infra.eventstore.factory import open_event_store
from tests.trading.helpers import bar

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv"
EXAMPLE = ROOT / "examples/rsi_strategy.py"
_RECORDED_TIME = re.compile(rb',"recorded_time_us":[0-9]+')
_RUN_HASHES = re.compile(rb'"(config_hash|payload_hash)":"[0-9a-f]+",?')

RUNS = {
    "sma_cross": (
        "sma_cross",
        {"fast": "3", "slow": "8", "size": "1"},
        SimulatedVenueConfig(commission=Decimal("0.001"), slippage_bps=Decimal("2")),
    ),
    "rsi_stops": (f"{EXAMPLE}:RsiReversion", {}, SimulatedVenueConfig()),
    "volume_cap": (
        "sma_cross",
        {"fast": "3", "slow": "8", "size": "400"},
        SimulatedVenueConfig(commission=Decimal("0.001"), volume_cap=Decimal("0.5")),
    ),
}

PINNED = {
    "sma_cross": (2589, "3e3ee5329ac2f2839d20cfdead798462326ddb78f609dd370653ec75004f1e31"),
    "rsi_stops": (333, "2c92051bbf42402b0c7c338fa1d031fde911637f3a1768b20d812c0d17e7b9f9"),
    "volume_cap": (3121, "28734999185b2e73dd2c7bae1b1f9577538424f15555cdc02f8e06757c43184e"),
}


def stored_digest(database: Path, run_id: str) -> tuple[int, str, dict[str, int]]:
    """How many rows ``database`` stores, their digest and how many of each type. The run id
    (and the hashes it enters) are left out: a strategy file's run id names the file's path,
    which differs between checkouts."""
    digest = hashlib.sha256()
    kinds: dict[str, int] = {}
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, CAST(state AS TEXT)"
            " FROM stored_events ORDER BY rowid"
        )
        for stream, version, topic, state in rows:
            text = _RUN_HASHES.sub(b"", _RECORDED_TIME.sub(b"", state.encode()))
            line = f"{stream}|{version}|{topic}|".encode() + text + b"\n"
            digest.update(line.replace(run_id.encode(), b"RUN"))
            kinds[topic] = kinds.get(topic, 0) + 1
    return sum(kinds.values()), digest.hexdigest(), kinds


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fixed_backtest_records_the_pinned_bytes(name: str, tmp_path: Path) -> None:
    strategy, params, venue = RUNS[name]
    csv = tmp_path / "bars.csv"
    with SAMPLE.open() as source:
        csv.write_text("".join(islice(source, 3_001)))  # 1,500 bars of each symbol
    database = tmp_path / "events.db"
    store = open_event_store(f"sqlite:///{database}")
    try:
        result = run_backtest(
            BacktestConfig(
                bars=load_bars(csv),
                strategy=strategy,
                params=params,
                venue=venue,
                cash=Decimal(10**7),
            ),
            store,
        )
    finally:
        store.close()
    count, digest, kinds = stored_digest(database, result.run_id)
    assert kinds.get("FillRecorded", 0) > 10, kinds
    assert (count, digest) == PINNED[name]


def _custom_rule(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    """A rule of a caller's own, its outcome's keys in no particular order."""
    return {"value": str(o.quantity), "rule": "custom", "passed": True, "limit": "", "detail": ""}


@pytest.mark.parametrize("rules", [ALL_RULES, (_custom_rule, *ALL_RULES)], ids=["fused", "own"])
def test_every_order_path_event_is_encoded_as_its_canonical_json(rules: tuple[Rule, ...]) -> None:
    """Events built in sorted key order skip the sort; the bytes must equal the canonical form
    of ``model_dump`` for every event, whichever path (plain or validated) built it."""
    clock = SimulatedClock()
    sink = CollectingSink()
    journal = Journal("bt-test", sink)
    recorder = Recorder(journal, clock, account="acct", strategy="mine", venue="SIM")
    venue = SimulatedVenue(commission=Decimal("0.001"), volume_cap=Decimal("0.4"))
    risk = RiskEngine("acct", rules=rules, fee_rate=Decimal("0.001"))
    manager = OrderManager(
        run_id="bt-test",
        run_stream="run-bt-test",
        venue=venue,
        risk=risk,
        book=Book("mine", Decimal(10**6)),
        recorder=recorder,
        counters=EngineCounters(),
        market_time=clock.now_us,
        on_fill=lambda fill: None,
    )
    requests: list[tuple[Side, Any, OrderType, Any, Any]] = [
        (Side.BUY, Decimal(3), OrderType.MARKET, None, None),
        (Side.SELL, Decimal("1.5"), OrderType.LIMIT, Decimal(99), None),
        (Side.SELL, 1.25, OrderType.STOP, None, Decimal(90)),  # a float: validated
        (Side.BUY, Decimal(2), OrderType.LIMIT, 101.5, None),  # a float price: validated
        (Side.SELL, Decimal(40), OrderType.MARKET, None, None),  # refused (no short sales)
    ]
    for index, (side, quantity, order_type, limit, stop) in enumerate(requests * 3 + requests[:1]):
        candle = bar(index, "100", "104", "89", "100", "5")
        clock.observe(candle.time_us)
        risk.update_price(candle.symbol, candle.close)
        for report in venue.on_bar(candle):
            manager.on_venue_report(report)
        manager.submit(
            candle,
            None,
            candle.symbol,
            side,
            quantity,
            order_type=order_type,
            limit_price=limit,
            stop_price=stop,
            time_in_force=TimeInForce.GTC,
            reason="test",
        )
    manager.cancel_all(  # the last order has seen no bar since: canceled
        "done", requested_by="test", origin=CancelOrigin.RUN_STOPPED
    )
    journal.flush()
    kinds = {type(event.payload).__name__ for event in sink.events}
    assert {"OrderPartiallyFilled", "FillRecorded", "OrderCanceled"} <= kinds, kinds
    for event in sink.events:
        expected = canonical_json(event.payload.model_dump(mode="json"))
        assert serialized_row(event)[4] == expected, type(event.payload).__name__
        assert payload_json(event.payload) == expected


def test_a_changed_copy_of_an_encoded_event_is_encoded_again() -> None:
    first = OrderAccepted(order_id="o1", venue_order_id="v1")
    second = OrderAccepted(order_id="o2", venue_order_id="v2")
    event = encoded_event(("order-o1", 1, first, "run:1", 5, SYSTEM, None, "run"))
    changed = event._replace(payload=second)
    assert changed == NewEvent("order-o1", 1, second, "run:1", 5, SYSTEM, None, "run")
    assert serialized_row(event)[4] == payload_json(first)
    assert serialized_row(changed)[4] == payload_json(second)
