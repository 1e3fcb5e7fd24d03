"""Sharpe, Sortino and volatility annualize with the periods of the bars' calendar: a daily
stock run equals empyrical's default (252 trading days), a 24/7 series uses 365, and a given
``periods_per_year`` wins and is reported as given."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import empyrical
import numpy as np
import pytest

from adapters.marketdata import load_bars
from api.application.runs import (
    BacktestConfig,
    BacktestResult,
    build_engine,
    prepare_run,
    result_of,
    run_groups,
)
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.types import RunMode
from domain.metrics import compute_metrics, daily_returns
from domain.trades import EquityPoint
from tests.marketdata.calendars import daily_stock_file, trading_days

INITIAL = Decimal(100_000)


def walk(days: list[date]) -> list[EquityPoint]:
    """An equity curve with one close a day, at 21:00 UTC, of a noisy walk."""
    rng = np.random.default_rng(11)
    values = float(INITIAL) * np.cumprod(1 + rng.normal(0.0006, 0.011, len(days)))
    return [
        EquityPoint(
            int(datetime.combine(day, time(21), UTC).timestamp()) * 1_000_000,
            Decimal(f"{value:.2f}"),
        )
        for day, value in zip(days, values, strict=True)
    ]


def metrics_of(curve: list[EquityPoint], periods_per_year: int | None = None) -> dict[str, object]:
    return compute_metrics(
        curve,
        [],
        initial_equity=INITIAL,
        fees=Decimal(0),
        traded_notional=Decimal(0),
        bars_in_market=0,
        total_bars=len(curve),
        periods_per_year=periods_per_year,
    ).as_dict()


def test_daily_stock_returns_annualize_like_empyrical() -> None:
    curve = walk(trading_days(date(2023, 1, 2), date(2024, 6, 28)))
    metrics = metrics_of(curve)
    returns = daily_returns(curve, INITIAL)
    assert (metrics["periods_per_year"], metrics["periods_per_year_source"]) == (252, "inferred")
    assert metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns))
    assert metrics["sortino"] == pytest.approx(empyrical.sortino_ratio(returns))
    assert metrics["annual_volatility"] == pytest.approx(empyrical.annual_volatility(returns))


def test_24_7_returns_annualize_with_365() -> None:
    first = date(2023, 1, 1)
    curve = walk([first + timedelta(days=n) for n in range(300)])
    metrics = metrics_of(curve)
    returns = daily_returns(curve, INITIAL)
    assert (metrics["periods_per_year"], metrics["periods_per_year_source"]) == (365, "inferred")
    assert metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns, annualization=365))
    assert metrics["sortino"] == pytest.approx(empyrical.sortino_ratio(returns, annualization=365))


def test_given_periods_win_and_are_reported_as_given() -> None:
    curve = walk(trading_days(date(2023, 1, 2), date(2023, 12, 29)))
    metrics = metrics_of(curve, periods_per_year=365)
    returns = daily_returns(curve, INITIAL)
    assert (metrics["periods_per_year"], metrics["periods_per_year_source"]) == (365, "given")
    assert metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns, annualization=365))
    with pytest.raises(ValueError, match="periods_per_year must be at least 1"):
        metrics_of(curve, periods_per_year=0)


def run_on(path: Path, periods_per_year: int | None = None) -> BacktestResult:
    config = BacktestConfig(
        bars=load_bars(path),
        strategy="sma_cross",
        params={"fast": "5", "slow": "20", "size": "300"},
        valuation_interval="1d",
        periods_per_year=periods_per_year,
    )
    prepared = prepare_run(config, RunMode.BACKTEST)
    engine = build_engine(prepared, CollectingSink(), SimulatedClock(), flush_every=1_000)
    engine.start(prepared.groups[0][0].time_us)
    for _ in run_groups(engine, prepared.groups, None):
        pass
    engine.stop("data exhausted")
    return result_of(engine, prepared, events=0, first_position=0, last_position=0)


def test_a_daily_stock_backtest_reports_empyricals_sharpe_and_sortino(tmp_path: Path) -> None:
    path = daily_stock_file(tmp_path / "aapl.csv")
    result = run_on(path)
    returns = daily_returns(result.equity_curve, INITIAL)
    assert len(returns) == 252 and result.metrics["trades"]
    assert result.metrics["periods_per_year"] == 252
    assert result.metrics["sharpe"] == pytest.approx(empyrical.sharpe_ratio(returns))
    assert result.metrics["sortino"] == pytest.approx(empyrical.sortino_ratio(returns))
    given = run_on(path, periods_per_year=365)
    assert given.run_id == result.run_id  # statistics only: the same run
    ratio = float(given.metrics["sharpe"]) / float(result.metrics["sharpe"])
    assert ratio == pytest.approx(math.sqrt(365 / 252))
