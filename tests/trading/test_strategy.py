"""Strategy parameters, the registry, user strategy files, and the order API's only door."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.optimize import simulate
from api.application.runs import BacktestConfig, RunConfigError, prepare_run
from api.application.strategies import resolve_strategy
from domain.engine.ports import CollectingSink
from domain.events.catalog import OrderSubmitted, RiskDecisionMade
from domain.events.types import RunMode, Side
from domain.market import Bar
from domain.risk import RiskLimits
from domain.strategy import Strategy, StrategyError, parse_assignments
from domain.strategy.builtins import SmaCross
from tests.trading.helpers import wave_bars


def test_builtins_are_registered_by_name() -> None:
    assert resolve_strategy("sma_cross") is SmaCross
    assert resolve_strategy("mean_reversion").strategy_name() == "mean_reversion"
    assert resolve_strategy("momentum").strategy_name() == "momentum"


def test_params_are_typed_defaulted_and_validated() -> None:
    strategy = SmaCross({"fast": "5", "size": "0.5"})
    assert strategy.params == {"fast": 5, "slow": 30, "size": Decimal("0.5")}
    with pytest.raises(StrategyError, match="has no parameter speed"):
        SmaCross({"speed": "1"})
    with pytest.raises(StrategyError, match="not a valid int"):
        SmaCross({"fast": "five"})
    with pytest.raises(StrategyError, match="below its minimum"):
        SmaCross({"fast": "0"})
    with pytest.raises(StrategyError, match="fast < slow"):
        SmaCross({"fast": "30", "slow": "10"})
    with pytest.raises(StrategyError, match="not a valid Decimal"):
        SmaCross({"size": "NaN"})
    with pytest.raises(StrategyError, match="name=value"):
        parse_assignments(["fast"])


def test_bad_params_fail_before_the_run_starts() -> None:
    config = BacktestConfig(bars={"BTC": wave_bars(10)}, strategy="sma_cross", params={"x": "1"})
    with pytest.raises(RunConfigError, match="has no parameter x"):
        prepare_run(config, RunMode.BACKTEST)
    with pytest.raises(RunConfigError, match="unknown strategy 'nope'"):
        prepare_run(BacktestConfig(bars={}, strategy="nope", params={}), RunMode.BACKTEST)


USER_STRATEGY = """
from decimal import Decimal
from domain.strategy import Param, Strategy

class BuyAndHold(Strategy):
    name = "buy_and_hold"
    parameters = {"size": Param(Decimal, Decimal(2), minimum=Decimal("0.001"))}

    def on_bar(self, bar):
        if self.position(bar.symbol) == 0 and self.ctx.pending_quantity(bar.symbol) == 0:
            self.buy(bar.symbol, self.params["size"], reason="hold")
"""


def test_user_strategy_is_loaded_from_a_file_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(USER_STRATEGY)
    cls = resolve_strategy(f"{path}:BuyAndHold")
    assert issubclass(cls, Strategy) and cls.strategy_name() == "buy_and_hold"
    config = BacktestConfig(
        bars={"BTC": wave_bars(20)},
        strategy=f"{path}:BuyAndHold",
        params={"size": "3"},
        venue=SimulatedVenueConfig(commission=Decimal(0)),
    )
    result, events = simulate(config)
    assert [e.payload.quantity for e in events if isinstance(e.payload, OrderSubmitted)] == [
        Decimal(3)
    ]
    assert result.final_equity == Decimal(100_000) + 3 * (
        wave_bars(20)[-1].close - wave_bars(20)[1].open
    )
    with pytest.raises(StrategyError, match="no Strategy subclass named 'Nope'"):
        resolve_strategy(f"{path}:Nope")
    with pytest.raises(StrategyError, match="does not exist"):
        resolve_strategy(f"{tmp_path}/absent.py:X")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(StrategyError, match="failed to import: boom"):
        resolve_strategy(f"{broken}:X")


class Prober(Strategy):
    """Records what it can see and tries to trade a restricted symbol."""

    name = "prober"
    seen: list[str] = []
    tickets: list[object] = []

    def on_bar(self, bar: Bar) -> None:
        Prober.seen = [n for n in dir(self.ctx) if not n.startswith("_")]
        if not Prober.tickets:
            Prober.tickets.append(self.ctx.submit_order(bar.symbol, Side.BUY, Decimal(1)))


def test_strategy_has_no_venue_handle_and_orders_pass_the_risk_engine_first() -> None:
    from api.application.runs import build_engine
    from domain.engine.ports import SimulatedClock

    bars = {"BTC": wave_bars(3)}
    config = BacktestConfig(
        bars=bars,
        strategy="sma_cross",
        params={},
        risk_limits=RiskLimits(restricted_symbols=frozenset({"BTC"})),
    )
    prepared = prepare_run(config, RunMode.BACKTEST)
    prepared = type(prepared)(config, Prober(), prepared.groups, prepared.spec)
    sink = CollectingSink()
    engine = build_engine(prepared, sink, SimulatedClock(), flush_every=1)
    engine.start(0)
    engine.process(prepared.groups[0])
    assert Prober.seen == [
        "cancel_order",
        "cash",
        "equity",
        "now_us",
        "pending_quantity",
        "position",
        "submit_order",
    ]
    ticket = Prober.tickets[0]
    assert not ticket.approved and "restricted_symbol" in ticket.reason  # type: ignore[attr-defined]
    payloads = [e.payload for e in sink.events]
    decisions = [p for p in payloads if isinstance(p, RiskDecisionMade)]
    assert len(decisions) == 1 and not decisions[0].approved
    assert not any(isinstance(p, OrderSubmitted) for p in payloads)
