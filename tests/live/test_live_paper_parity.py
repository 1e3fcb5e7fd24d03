"""Paper and live record the same events from the same prices, apart from the venue's ids,
the event times and what only a live session records (connection, reconciliation): the same
strategy on the bars a live session saw at the local exchange, run again as paper."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from api.application.paper import run_paper
from api.application.runs import BacktestConfig
from domain.events.catalog import BarClosed
from domain.events.envelope import RecordedEvent
from domain.live.replay import bar_of
from domain.market import BarSeries
from domain.risk import RiskLimits
from infra.eventstore.factory import open_event_store
from tests.live.exchange_support import local_exchange
from tests.live.support import LIMITS, SYMBOL, log_of
from tests.live.test_live_exchange import _live
from tests.trading.helpers import wave_bars

COMPARED = {
    "SignalGenerated": ("side", "quantity", "target_position", "reason", "bar_time"),
    "RiskDecisionMade": ("approved",),
    "OrderSubmitted": ("side", "order_type", "quantity", "limit_price"),
    "OrderAccepted": (),
    "FillRecorded": ("side", "price", "quantity", "fee"),
    "OrderFilled": ("filled_quantity", "average_price"),
    "PortfolioValued": ("cash", "equity", "positions"),
}


def _facts(events: list[RecordedEvent]) -> list[tuple[Any, ...]]:
    """The compared fields, numbers by value (ccxt hands the venue's numbers over as floats:
    ``1.0`` for ``1``)."""
    return [
        (e.event_type, *(_value(e.data[name]) for name in COMPARED[e.event_type]))
        for e in events
        if e.event_type in COMPARED
    ]


def _value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    try:
        return Decimal(value).normalize() if isinstance(value, str) else value
    except InvalidOperation:
        return value


def test_paper_and_live_record_the_same_facts(tmp_path: Path) -> None:
    series = {"BTCUSDT": BarSeries("BTCUSDT", wave_bars(80, "BTCUSDT"))}
    store = open_event_store(f"sqlite:///{tmp_path}/events.sqlite")
    with local_exchange("", series=series) as running:
        live = log_of(store, _live(running, store, 60).run_id)
    seen = [bar_of(e.payload) for e in live if isinstance(e.payload, BarClosed)]
    config = BacktestConfig(
        bars={SYMBOL: seen},
        strategy="sma_cross",
        params={"fast": "3", "slow": "8"},
        risk_limits=RiskLimits.model_validate(LIMITS),
    )
    paper = log_of(store, run_paper(config, store, speed=0).run_id)
    assert any(fact[0] == "FillRecorded" for fact in _facts(live))
    assert _facts(paper) == _facts(live)
