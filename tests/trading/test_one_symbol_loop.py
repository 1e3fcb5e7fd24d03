"""The one-symbol loop (equity kept as segments, the risk engine given the bars' equity when it
is about to be asked) records what the loop of several symbols records bar by bar."""

from __future__ import annotations

import pickle
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from api.application.runs import BacktestConfig, build_engine, prepare_run
from domain.engine.engine import TradingEngine
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.types import RunMode
from domain.market import Bar
from domain.risk import RiskLimits
from domain.trades import EquityCurve
from tests.trading.helpers import START_US

HOUR_US = 3_600_000_000
CENT = Decimal("0.01")


def hourly_bars(moves: list[int], gaps: list[int]) -> list[Bar]:
    """Hourly bars of a walk in cents, with some hours missing (runs cross UTC days)."""
    bars, price, hour = [], Decimal(100), 0
    for number, move in enumerate(moves):
        hour += 1 + gaps[number % len(gaps)]
        close = max(Decimal(1), price + move * CENT)
        bars.append(
            Bar(
                "BTC",
                START_US + hour * HOUR_US,
                price,
                max(price, close),
                min(price, close),
                close,
                Decimal(10),
            )
        )
        price = close
    return bars


def run(config: BacktestConfig, *, one_symbol: bool) -> tuple[TradingEngine, CollectingSink]:
    prepared = prepare_run(config, RunMode.BACKTEST)
    sink = CollectingSink()
    engine = build_engine(prepared, sink, SimulatedClock(), flush_every=1)
    engine._one_symbol = one_symbol  # the general loop, for the comparison only
    engine.start(prepared.groups[0][0].time_us)
    engine.process_many(prepared.groups)
    engine.stop("data exhausted")
    return engine, sink


STRATEGIES = st.sampled_from(
    [
        ("sma_cross", {"fast": "2", "slow": "5", "size": "3"}),
        ("mean_reversion", {"period": "4", "width": "0.5", "size": "2", "allow_short": "true"}),
        ("momentum", {"lookback": "3", "roc_period": "2", "size": "1.5"}),
    ]
)


@settings(max_examples=20, deadline=None)
@given(
    moves=st.lists(st.integers(-400, 400), min_size=30, max_size=120),
    gaps=st.lists(st.sampled_from([0, 0, 0, 5, 23]), min_size=1, max_size=5),
    strategy=STRATEGIES,
    drawdown=st.sampled_from([None, "0.001", "0.01"]),
    daily_loss=st.sampled_from([None, "1", "10"]),
)
def test_the_one_symbol_loop_records_what_the_bar_by_bar_loop_records(
    moves: list[int],
    gaps: list[int],
    strategy: tuple[str, dict[str, str]],
    drawdown: str | None,
    daily_loss: str | None,
) -> None:
    name, params = strategy
    config = BacktestConfig(
        bars={"BTC": hourly_bars(moves, gaps)},
        strategy=name,
        params=params,
        cash=Decimal(1000),
        valuation_interval="1h",
        risk_limits=RiskLimits(
            max_drawdown=drawdown, max_daily_loss=daily_loss, max_short_position=Decimal(5)
        ),
    )
    fast, fast_events = run(config, one_symbol=True)
    slow, slow_events = run(config, one_symbol=False)
    assert fast_events.events == slow_events.events
    assert list(fast.curve_times) == list(slow.curve_times)
    assert list(fast.curve_equity) == list(slow.curve_equity)
    assert [str(e) for e in fast.curve_equity] == [str(e) for e in slow.curve_equity]
    assert fast.bars_in_market == slow.bars_in_market
    assert _risk_state(fast) == _risk_state(slow)


def _risk_state(engine: TradingEngine) -> dict[str, object]:
    """The risk engine's state, without its cache of measured losses (measured when asked)."""
    cache = {"_losses_stale", "_daily_loss", "_drawdown", "_daily_loss_text", "_drawdown_text"}
    return {name: value for name, value in vars(engine.risk).items() if name not in cache}


def test_the_curve_reads_the_same_by_index_by_iteration_and_after_a_pickle() -> None:
    moves = [(-1) ** (i // 7) * (i % 13) * 10 for i in range(300)]
    config = BacktestConfig(
        bars={"BTC": hourly_bars(moves, [0, 0, 3])},
        strategy="mean_reversion",
        params={"period": "5", "width": "0.5", "size": "2", "allow_short": "true"},
        cash=Decimal(1000),
        risk_limits=RiskLimits(max_short_position=Decimal(5)),
    )
    engine, _ = run(config, one_symbol=True)
    values = engine.curve_equity
    assert len(values) == 300 and 0 < engine.bars_in_market < 300
    assert [values[i] for i in range(len(values))] == list(values)
    assert values[-1] == engine.book.equity
    copy = pickle.loads(pickle.dumps(engine))
    assert list(copy.curve_equity) == list(values)
    assert copy.bars_in_market == engine.bars_in_market
    curve = EquityCurve(engine.curve_times, values)
    assert curve == EquityCurve(tuple(engine.curve_times), tuple(values))
    assert curve[-1].equity == values[-1]
