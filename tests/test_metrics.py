"""compute_metrics against independent computations: empyrical on the same daily returns
(built here with pandas, not with our resampler), hand-computed trade fixtures, and a
straightforward point-by-point reference (the implementation before the columnar fast path)."""

from __future__ import annotations

import datetime
import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import empyrical
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.types import Side
from domain.metrics import DAY_US, YEAR_US, Metrics, compute_metrics, daily_closes
from domain.trades import ClosedTrade, EquityCurve, EquityPoint

START = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
HOUR = 3_600_000_000
INITIAL = Decimal(10_000)


def trade(pnl: str, n: int = 0) -> ClosedTrade:
    return ClosedTrade(
        symbol="BTCUSDT",
        side=Side.BUY,
        quantity=Decimal(1),
        entry_time_us=START + n * HOUR,
        entry_price=Decimal(100),
        exit_time_us=START + (n + 1) * HOUR,
        exit_price=Decimal(100) + Decimal(pnl),
        pnl=Decimal(pnl),
        fees=Decimal("0.1"),
    )


def metrics_of(
    equity: Sequence[EquityPoint], trades: list[ClosedTrade] | None = None, **kw: object
) -> Metrics:
    options: dict[str, object] = {
        "initial_equity": INITIAL,
        "fees": Decimal("1.5"),
        "traded_notional": Decimal(25_000),
        "bars_in_market": 30,
        "total_bars": 120,
    }
    options.update(kw)
    return compute_metrics(equity, trades or [], **options)  # type: ignore[arg-type]


@pytest.fixture
def curve() -> list[EquityPoint]:
    """60 days, 6 points a day (every 4 hours) of a noisy walk; the last one of a day counts."""
    rng = np.random.default_rng(3)
    points = []
    value = float(INITIAL)
    for step in range(60 * 6):
        value *= 1 + rng.normal(0.0005, 0.01)
        points.append(EquityPoint(START + 4 * HOUR * step + HOUR, Decimal(f"{value:.2f}")))
    return points


def pandas_daily_returns(points: list[EquityPoint]) -> pd.Series:
    """Independent resampling: pandas 1D bins of the equity, last value, initial prepended."""
    series = pd.Series(
        [float(p.equity) for p in points],
        index=pd.to_datetime([p.time_us for p in points], unit="us", utc=True),
    )
    closes = series.resample("1D").last().dropna()
    values = pd.concat([pd.Series([float(INITIAL)]), closes.reset_index(drop=True)])
    return values.pct_change().dropna().reset_index(drop=True)


def test_return_statistics_match_empyrical(curve: list[EquityPoint]) -> None:
    m = metrics_of(curve)
    returns = pandas_daily_returns(curve)
    assert m.days == len(returns) == 60
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=365))
    assert m.sortino == pytest.approx(empyrical.sortino_ratio(returns, annualization=365))
    assert m.annual_volatility == pytest.approx(
        empyrical.annual_volatility(returns, annualization=365)
    )
    assert m.max_drawdown == pytest.approx(-empyrical.max_drawdown(returns))
    # empyrical's years = len(returns) / annualization; choose the annualization that makes
    # its years equal ours (first to last point, in 365.25-day years).
    years = (curve[-1].time_us - curve[0].time_us) / (365.25 * DAY_US)
    periods = len(returns) / years
    assert m.cagr == pytest.approx(empyrical.annual_return(returns, annualization=periods))
    assert m.calmar == pytest.approx(empyrical.calmar_ratio(returns, annualization=periods))
    assert m.total_return == pytest.approx(float(curve[-1].equity / INITIAL - 1))


def test_equities_annualize_with_252_periods(curve: list[EquityPoint]) -> None:
    m = metrics_of(curve, periods_per_year=252)
    returns = pandas_daily_returns(curve)
    assert m.sharpe == pytest.approx(empyrical.sharpe_ratio(returns, annualization=252))
    assert m.annual_volatility == pytest.approx(
        empyrical.annual_volatility(returns, annualization=252)
    )


def test_drawdown_and_its_duration_by_hand() -> None:
    # Daily closes 10000 -> 11000 -> 9900 -> 9350 -> 11000 -> 12000 -> 10800
    values = ["11000", "9900", "9350", "11000", "12000", "10800"]
    curve = [EquityPoint(START + day * DAY_US, Decimal(v)) for day, v in enumerate(values)]
    m = metrics_of(curve)
    assert m.max_drawdown == pytest.approx(1 - 9350 / 11000)  # 15 %
    assert m.max_drawdown_duration_days == 2  # two closes below the 11000 peak
    assert m.final_equity == Decimal(10800)


def test_days_without_points_are_skipped_not_filled() -> None:
    curve = [
        EquityPoint(START + 2 * HOUR, Decimal(10_100)),
        EquityPoint(START + 20 * HOUR, Decimal(10_200)),  # close of day 0
        EquityPoint(START + 3 * DAY_US + HOUR, Decimal(9_690)),  # day 3; days 1-2 absent
    ]
    m = metrics_of(curve)
    assert m.days == 2
    assert m.max_drawdown == pytest.approx(1 - 9_690 / 10_200)


def test_trade_statistics_by_hand() -> None:
    trades = [trade("100", 0), trade("-50", 1), trade("30", 2), trade("-20", 3), trade("0", 4)]
    m = metrics_of([EquityPoint(START, INITIAL)], trades)
    assert m.trades == 5
    assert m.win_rate == pytest.approx(0.4)
    assert m.profit_factor == pytest.approx(130 / 70)
    assert m.expectancy == Decimal(12)
    assert m.average_win == Decimal(65)
    assert m.average_loss == Decimal(-35)
    assert m.best_trade == Decimal(100)
    assert m.worst_trade == Decimal(-50)
    assert m.exposure == pytest.approx(0.25)
    assert m.turnover == pytest.approx(2.5)
    assert m.fees == Decimal("1.5")


def test_degenerate_runs_give_explicit_values_not_nan() -> None:
    flat = [EquityPoint(START + day * DAY_US, INITIAL) for day in range(5)]
    m = metrics_of(flat, total_bars=0, bars_in_market=0)
    assert (m.trades, m.win_rate, m.profit_factor, m.expectancy) == (0, None, None, None)
    assert (m.best_trade, m.worst_trade, m.average_win, m.average_loss) == (None,) * 4
    assert m.annual_volatility == 0.0
    assert (m.sharpe, m.sortino, m.calmar) == (None, None, None)
    assert m.max_drawdown == 0.0
    assert m.total_return == 0.0
    assert m.exposure == 0.0
    one_point = metrics_of([EquityPoint(START, Decimal(10_500))])
    assert one_point.cagr is None and one_point.sharpe is None
    assert one_point.total_return == pytest.approx(0.05)
    empty = metrics_of([])
    assert empty.total_return == 0.0 and empty.days == 0 and empty.max_drawdown == 0.0
    only_wins = metrics_of(flat, [trade("5")])
    assert only_wins.profit_factor is None and only_wins.win_rate == 1.0
    for value in m.as_dict().values():
        assert not (isinstance(value, float) and not np.isfinite(value))


def test_as_dict_keeps_money_exact_and_marks_undefined() -> None:
    m = metrics_of([EquityPoint(START, Decimal("10000.10"))], [trade("0.30")])
    out = m.as_dict()
    assert out["final_equity"] == "10000.10"
    assert out["best_trade"] == "0.30"
    assert out["sharpe"] == "n/a"
    assert out["trades"] == 1


def test_refuses_non_positive_initial_equity() -> None:
    with pytest.raises(ValueError, match="initial_equity"):
        metrics_of([], initial_equity=Decimal(0))


money = st.decimals(min_value=Decimal(1), max_value=Decimal(10**7), places=2)
pnl = st.decimals(min_value=Decimal(-1000), max_value=Decimal(1000), places=2)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(money, min_size=0, max_size=40),
    hours=st.lists(st.integers(min_value=1, max_value=60), min_size=40, max_size=40),
    pnls=st.lists(pnl, max_size=30),
)
def test_bounded_statistics(values: list[Decimal], hours: list[int], pnls: list[Decimal]) -> None:
    times = np.cumsum(hours)[: len(values)]
    curve = [EquityPoint(START + int(t) * HOUR, v) for t, v in zip(times, values, strict=True)]
    m = metrics_of(curve, [trade(str(p)) for p in pnls])
    assert 0.0 <= m.max_drawdown <= 1.0
    assert m.win_rate is None or 0.0 <= m.win_rate <= 1.0
    assert m.trades == len(pnls)
    assert m.max_drawdown_duration_days <= m.days


def reference_metrics(
    equity: Sequence[EquityPoint],
    trades: Sequence[ClosedTrade],
    *,
    initial_equity: Decimal,
    fees: Decimal,
    traded_notional: Decimal,
    bars_in_market: int,
    total_bars: int,
    periods_per_year: int | None = None,
) -> dict[str, float | int | str]:
    """The metrics computed the plain way, one ``EquityPoint`` at a time (as before the
    columnar fast path): the fast path must give exactly this dict, float for float. Periods
    a year are inferred by counting calendar weekdays with ``datetime``."""
    ordered = sorted(equity, key=lambda p: p.time_us)
    day_closes: list[tuple[int, Decimal]] = []
    for point in ordered:
        day = point.time_us // DAY_US
        if day_closes and day_closes[-1][0] == day:
            day_closes[-1] = (day, point.equity)
        else:
            day_closes.append((day, point.equity))
    final_equity = ordered[-1].equity if ordered else initial_equity
    closes = np.array([float(initial_equity)] + [float(v) for _, v in day_closes])
    returns = np.zeros(0)
    if len(closes) >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            returns = np.where(closes[:-1] != 0, closes[1:] / closes[:-1] - 1.0, 0.0)
    peaks = np.maximum.accumulate(closes)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - closes / peaks, 0.0)
    longest = current = 0
    for below in falls > 0:
        current = current + 1 if below else 0
        longest = max(longest, current)
    drawdown = float(min(max(np.max(falls), 0.0), 1.0))
    cagr = None
    if len(ordered) >= 2 and final_equity > 0:
        years = (ordered[-1].time_us - ordered[0].time_us) / YEAR_US
        if years > 0:
            try:
                value = float(final_equity / initial_equity) ** (1.0 / years) - 1.0
                cagr = value if math.isfinite(value) else None
            except OverflowError:
                cagr = None
    source = "inferred" if periods_per_year is None else "given"
    if periods_per_year is None:
        periods_per_year = reference_periods([day for day, _ in day_closes])
    volatility = sharpe = sortino = None
    if len(returns) >= 2:
        scale = math.sqrt(periods_per_year)
        mean = float(np.mean(returns))
        deviation = float(np.std(returns, ddof=1))
        volatility = deviation * scale
        sharpe = mean / deviation * scale if deviation > 0 else None
        downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
        sortino = mean / downside * scale if downside > 0 else None
    pnls = [t.pnl for t in trades]
    wins = [x for x in pnls if x > 0]
    losses = [x for x in pnls if x < 0]
    profit, loss = sum(wins, Decimal(0)), -sum(losses, Decimal(0))
    return Metrics(
        total_return=float(final_equity / initial_equity - 1),
        cagr=cagr,
        annual_volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=cagr / drawdown if cagr is not None and drawdown > 0 else None,
        max_drawdown=drawdown,
        max_drawdown_duration_days=longest,
        trades=len(pnls),
        win_rate=len(wins) / len(pnls) if pnls else None,
        profit_factor=float(profit / loss) if loss > 0 else None,
        expectancy=sum(pnls, Decimal(0)) / len(pnls) if pnls else None,
        average_win=profit / len(wins) if wins else None,
        average_loss=-loss / len(losses) if losses else None,
        best_trade=max(pnls) if pnls else None,
        worst_trade=min(pnls) if pnls else None,
        exposure=bars_in_market / total_bars if total_bars > 0 else 0.0,
        turnover=float(traded_notional / initial_equity),
        fees=fees,
        final_equity=final_equity,
        days=len(returns),
        periods_per_year=periods_per_year,
        periods_per_year_source=source,
    ).as_dict()


def reference_periods(days: list[int]) -> int:
    """365, unless some weekday never has a close although the span holds it twice: then 252
    for each five open weekdays."""
    if not days:
        return 365
    epoch = datetime.date(1970, 1, 1)
    spanned = Counter(
        (epoch + datetime.timedelta(days=day)).weekday() for day in range(min(days), max(days) + 1)
    )
    seen = {(epoch + datetime.timedelta(days=day)).weekday() for day in days}
    closed = [weekday for weekday, count in spanned.items() if count >= 2 and weekday not in seen]
    return round(252 * (7 - len(closed)) / 5) if closed else 365


def reference_of(
    equity: Sequence[EquityPoint], trades: Sequence[ClosedTrade]
) -> dict[str, float | int | str]:
    """``reference_metrics`` with the options ``metrics_of`` uses."""
    return reference_metrics(
        equity,
        trades,
        initial_equity=INITIAL,
        fees=Decimal("1.5"),
        traded_notional=Decimal(25_000),
        bars_in_market=30,
        total_bars=120,
    )


def test_a_curve_and_its_points_give_exactly_the_reference_metrics(
    curve: list[EquityPoint],
) -> None:
    trades = [trade("100", 0), trade("-50", 1), trade("30", 2)]
    expected = reference_of(curve, trades)
    assert metrics_of(curve, trades).as_dict() == expected
    assert metrics_of(EquityCurve.of(curve), trades).as_dict() == expected


@settings(max_examples=80, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(min_value=-3 * 24, max_value=20 * 24), money),
        max_size=60,
    ),
    pnls=st.lists(pnl, max_size=10),
    origin=st.sampled_from([START, 0]),
)
def test_any_order_and_equal_times_match_the_reference(
    points: list[tuple[int, Decimal]], pnls: list[Decimal], origin: int
) -> None:
    """Unsorted, with ties, and days before 1970 (floor division): exactly the reference."""
    curve = [EquityPoint(origin + hours * HOUR, value) for hours, value in points]
    trades = [trade(str(p)) for p in pnls]
    expected = reference_of(curve, trades)
    assert metrics_of(curve, trades).as_dict() == expected
    assert metrics_of(EquityCurve.of(curve), trades).as_dict() == expected
    assert daily_closes(EquityCurve.of(curve)) == daily_closes(curve)


def test_equity_curve_reads_as_points() -> None:
    times = (START, START + HOUR, START + 2 * HOUR)
    values = (Decimal(1), Decimal("2.0"), Decimal("3.00"))
    curve = EquityCurve(times, values)
    points = [EquityPoint(t, v) for t, v in zip(times, values, strict=True)]
    assert list(curve) == points and len(curve) == 3
    assert curve[1] == points[1] and curve[-1] == points[-1]
    assert curve[1:] == EquityCurve(times[1:], values[1:])
    assert list(reversed(curve)) == points[::-1] and points[2] in curve
    assert EquityCurve.of(points) == curve
    with pytest.raises(ValueError, match="2 times but 3"):
        EquityCurve(times[:2], values)
