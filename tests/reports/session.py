"""The PAPER session every compliance test reads: two instruments over three UTC days of
30-minute bars, run by the real engine (``run_paper``, speed 0, a clock that follows the
bars), with partial fills (volume cap), strategy cancels and instant cancels, rejections by a
tightened limit, a kill switch engaged with working orders and released, and a trading-state
change. Bars are recorded, so the interval VWAP is available."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.commands import (
    ChangeRiskLimit,
    Command,
    EngageKillSwitch,
    ReleaseKillSwitch,
    SetTradingState,
)
from api.application.control import find_run, request_command
from api.application.paper import run_paper
from api.application.runs import BacktestConfig
from domain.engine.ports import SimulatedClock
from domain.events.types import TradingState
from domain.market import Bar
from infra.eventstore.store import EventStore

RUN_ID = "compliance-session"
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
STEP_US = 30 * 60_000_000
BARS = 144  # three days
STRATEGY = str(Path(__file__).with_name("churn_strategy.py")) + ":Churn"


def session_bars(symbol: str, base: float) -> list[Bar]:
    bars, previous = [], Decimal(str(base))
    for i in range(BARS):
        close = Decimal(str(base + 5 * math.sin(i / 7) + 2 * math.sin(i / 2.1))).quantize(
            Decimal("0.01")
        )
        high, low = max(previous, close) + Decimal("0.4"), min(previous, close) - Decimal("0.4")
        bars.append(
            Bar(symbol, START_US + i * STEP_US, previous, high, low, close, Decimal(60 + i % 13))
        )
        previous = close
    return bars


def config() -> BacktestConfig:
    return BacktestConfig(
        bars={"BTC": session_bars("BTC", 100.0), "ETH": session_bars("ETH", 40.0)},
        strategy=STRATEGY,
        params={},
        venue=SimulatedVenueConfig(volume_cap=Decimal("0.02")),
        run_id=RUN_ID,
        record_bars=True,
        valuation_interval="1d",
    )


def operator(store: EventStore) -> Callable[[int, int], None]:
    """The operator's day, sent through the run's control stream as `lh ctl` would: a tighter
    size limit on day one, a kill switch on day two, then a wind-down."""
    plan: dict[int, Command] = {
        20: ChangeRiskLimit(
            name="max_order_quantity", value="2", operator="alice", reason="tighten"
        ),
        40: ChangeRiskLimit(
            name="max_order_quantity", value="1000000", operator="alice", reason="restore"
        ),
        60: EngageKillSwitch(operator="bob", reason="drill"),
        66: ReleaseKillSwitch(operator="bob", reason="drill over"),
        120: SetTradingState(state=TradingState.REDUCING, operator="carol", reason="wind down"),
    }

    def on_bar(done: int, _total: int) -> None:
        command = plan.get(done)
        if command is not None:
            request_command(store, find_run(store, RUN_ID), command)

    return on_bar


def record_session(store: EventStore) -> None:
    run_paper(config(), store, speed=0, clock=SimulatedClock(), progress=operator(store))
