"""The log alone reproduces the engine's books: cash and positions folded from recorded events
(independently of the engine's accounting code) give exactly the run's final equity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import BacktestConfig, run_backtest
from infra.eventstore.factory import open_event_store
from projections.queries.state import compute_log_state, fold
from projections.sql.models import POSITIONS
from projections.sql.projection import SqlProjection
from tests.trading.helpers import wave_bars


def test_cash_and_positions_from_the_log_give_the_final_equity(tmp_path: Path) -> None:
    bars = wave_bars(600, symbol="BTC")
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    config = BacktestConfig(
        bars={"BTC": bars},
        strategy="sma_cross",
        params={"fast": "5", "slow": "20"},
        cash=Decimal(50_000),
        venue=SimulatedVenueConfig(commission=Decimal("0.001"), slippage_bps=Decimal(3)),
    )
    result = run_backtest(config, store)
    state = compute_log_state(store)

    assert result.trades, "the wave must make the strategy trade"
    account = result.run_id  # each run is its own account by default
    assert set(state.cash) == {(account, "USD")}
    position = state.positions.get((account, "sma_cross", "BTC"), Decimal(0))
    marked = state.cash[(account, "USD")] + position * bars[-1].close
    assert marked == result.final_equity


def test_two_runs_never_share_a_book(tmp_path: Path) -> None:
    bars = {"BTC": wave_bars(300, symbol="BTC")}
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    first = run_backtest(BacktestConfig(bars=bars, strategy="sma_cross", params={}), store)
    second = run_backtest(
        BacktestConfig(bars=bars, strategy="sma_cross", params={"fast": "3", "slow": "12"}), store
    )
    state = compute_log_state(store)
    assert first.run_id != second.run_id
    assert {account for account, _ in state.cash} == {first.run_id, second.run_id}
    assert {account for account, _, _ in state.positions} == {first.run_id, second.run_id}


def test_the_log_and_the_sql_read_model_realize_what_the_engine_recorded(tmp_path: Path) -> None:
    """The engine records FIFO realized PnL in ``PortfolioValued``; the log-derived state and
    the SQL read model fold the same fills to the same amount (one accounting rule)."""
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    config = BacktestConfig(
        bars={"BTC": wave_bars(600, symbol="BTC")},
        strategy="sma_cross",
        params={"fast": "3", "slow": "12"},
        cash=Decimal(50_000),
        venue=SimulatedVenueConfig(commission=Decimal("0.001"), slippage_bps=Decimal(3)),
    )
    result = run_backtest(config, store)
    events = list(store.read_all())
    valuations = [e for e in events if e.event_type == "PortfolioValued"]
    assert len(result.trades) > 1 and valuations
    last = valuations[-1]
    state = fold(event for event in events if event.position <= last.position)
    key = (result.run_id, "sma_cross", "BTC")
    assert state.realized[key] == Decimal(last.data["realized_pnl"])
    projection = SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    try:
        projection.apply([event for event in events if event.position <= last.position])
        with projection.engine.connect() as connection:
            realized = connection.execute(select(POSITIONS.c.realized_pnl)).scalar_one()
        assert realized == Decimal(last.data["realized_pnl"])
    finally:
        projection.close()
