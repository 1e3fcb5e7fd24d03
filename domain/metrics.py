"""Performance statistics of one run, from its equity curve and its closed trades.

Conventions (the same for every report, so numbers are comparable):

* Return statistics use the equity curve resampled to UTC daily closes: the last equity point of
  each UTC day that has points (days without points are skipped, not forward-filled). The first
  daily return is measured from ``initial_equity``; so ``N`` days with points give ``N`` returns.
* Annualization uses ``periods_per_year`` daily returns a year: given, or inferred from the
  weekdays the curve has points on (``domain.calendar.days_per_year``): 365 when every weekday
  has points (24/7 markets), 252 when two weekdays never do (exchange days, the convention of
  empyrical, quantstats and backtrader). Returns are daily for intraday bars too, so their
  periods are sessions, not bars, a year. The risk-free rate is 0.
* Volatility and Sharpe use the sample standard deviation (ddof=1). Sortino divides the
  annualized mean return by the downside deviation ``sqrt(mean(min(r, 0)^2))`` taken over all
  periods, annualized with ``sqrt(periods_per_year)``.
* Max drawdown is the largest fall from a running peak of the daily closes (``initial_equity``
  counts as the first peak), a fraction in [0, 1]; its duration is the longest number of days
  spent below a previous peak (to recovery, or to the last day if never recovered).
* CAGR compounds the total return over the time from the first to the last equity point, in
  years of 365.25 days. Calmar is CAGR / max drawdown.
* Trade statistics use each ``ClosedTrade.pnl`` (net of fees). A win is pnl > 0, a loss pnl < 0.
  Average loss is reported as a negative number. Turnover is traded notional / initial equity.
* Degenerate cases never produce NaN or infinity: a ratio whose denominator is zero (no trades,
  no losses, flat equity, fewer than two returns, zero elapsed time) is ``None``.

Money figures stay exact ``Decimal``; ratios are floats (statistics, not ledger values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

import numpy as np

from domain.calendar import days_per_year
from domain.trades import ClosedTrade, EquityCurve, EquityPoint

DAY_US = 86_400_000_000
YEAR_US = 365.25 * DAY_US


@dataclass(frozen=True, slots=True)
class Metrics:
    """The statistics of one run; ``None`` means "not defined for this run" (see module doc)."""

    total_return: float
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown: float
    max_drawdown_duration_days: int
    trades: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: Decimal | None
    average_win: Decimal | None
    average_loss: Decimal | None
    best_trade: Decimal | None
    worst_trade: Decimal | None
    exposure: float
    turnover: float
    fees: Decimal
    final_equity: Decimal
    days: int
    periods_per_year: int
    periods_per_year_source: str
    """``"given"`` by the caller or ``"inferred"`` from the curve's calendar."""

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat, JSON-friendly: money as exact strings, undefined values as ``"n/a"``."""
        out: dict[str, float | int | str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None:
                out[spec.name] = "n/a"
            elif isinstance(value, Decimal):
                out[spec.name] = str(value)
            else:
                out[spec.name] = value
        return out


def daily_closes(equity: Sequence[EquityPoint]) -> list[tuple[int, Decimal]]:
    """(UTC day index, last equity of that day) for each day with at least one point."""
    stamps, values = _in_time_order(_as_curve(equity))
    days, closes = _day_closes(stamps, values)
    return list(zip(days, closes, strict=True))


def daily_returns(equity: Sequence[EquityPoint], initial_equity: Decimal) -> np.ndarray:
    """Simple returns between consecutive daily closes, the first one from ``initial_equity``."""
    stamps, values = _in_time_order(_as_curve(equity))
    return _returns(_close_values(_day_closes(stamps, values)[1], initial_equity))


def _as_curve(equity: Sequence[EquityPoint]) -> EquityCurve:
    """Columns of the curve; an ``EquityCurve`` already is (no point objects are made)."""
    return equity if isinstance(equity, EquityCurve) else EquityCurve.of(equity)


def _in_time_order(curve: EquityCurve) -> tuple[np.ndarray, Sequence[Decimal]]:
    """Times as int64 and the equity values, sorted by time only if they are not already.
    The sort is stable, as ``sorted`` was: of two points at one time the later given is last."""
    stamps = np.fromiter(curve.times, dtype=np.int64, count=len(curve.times))
    if len(stamps) > 1 and bool(np.any(stamps[1:] < stamps[:-1])):
        order = np.argsort(stamps, kind="stable")
        return stamps[order], [curve.equity[i] for i in order.tolist()]
    return stamps, curve.equity  # the usual case (a run's curve): no copy


def _day_closes(stamps: np.ndarray, values: Sequence[Decimal]) -> tuple[list[int], list[Decimal]]:
    """The UTC days that have points, and the last value of each (time-ordered input)."""
    if len(stamps) == 0:
        return [], []
    days = stamps // DAY_US
    last = np.flatnonzero(days[1:] != days[:-1]).tolist()
    last.append(len(days) - 1)
    return days[last].tolist(), [values[i] for i in last]


def _close_values(closes: Sequence[Decimal], initial_equity: Decimal) -> np.ndarray:
    """``initial_equity`` followed by each day's close, as floats."""
    values = [float(initial_equity)] + [float(value) for value in closes]
    return np.array(values, dtype=np.float64)


def _returns(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.zeros(0, dtype=np.float64)
    previous = values[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(previous != 0, values[1:] / previous - 1.0, 0.0)
    return np.asarray(returns, dtype=np.float64)


def compute_metrics(
    equity: Sequence[EquityPoint],
    trades: Sequence[ClosedTrade],
    *,
    initial_equity: Decimal,
    fees: Decimal,
    traded_notional: Decimal,
    bars_in_market: int,
    total_bars: int,
    periods_per_year: int | None = None,
) -> Metrics:
    """Every statistic of the run; see the module docstring for the conventions.

    ``equity`` may be in any order. An ``EquityCurve`` (what a run produces) is read as its two
    columns, so no million ``EquityPoint`` objects are made for a million bars.
    """
    if initial_equity <= 0:
        raise ValueError(f"initial_equity must be positive, got {initial_equity}")
    if periods_per_year is not None and periods_per_year < 1:
        raise ValueError(f"periods_per_year must be at least 1, got {periods_per_year}")
    stamps, values = _in_time_order(_as_curve(equity))
    final_equity = values[-1] if len(values) else initial_equity
    total_return = float(final_equity / initial_equity - 1)
    days, day_closes = _day_closes(stamps, values)
    closes = _close_values(day_closes, initial_equity)
    returns = _returns(closes)
    source = "inferred" if periods_per_year is None else "given"
    if periods_per_year is None:
        periods_per_year = days_per_year(np.array(days, dtype=np.int64))
    drawdown, duration = _max_drawdown(closes)
    span_us = int(stamps[-1]) - int(stamps[0]) if len(stamps) >= 2 else None
    cagr = _cagr(span_us, initial_equity, final_equity)
    volatility, sharpe, sortino = _risk_ratios(returns, periods_per_year)
    stats = _trade_stats(trades)
    return Metrics(
        total_return=total_return,
        cagr=cagr,
        annual_volatility=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=cagr / drawdown if cagr is not None and drawdown > 0 else None,
        max_drawdown=drawdown,
        max_drawdown_duration_days=duration,
        exposure=bars_in_market / total_bars if total_bars > 0 else 0.0,
        turnover=float(traded_notional / initial_equity),
        fees=fees,
        final_equity=final_equity,
        days=len(returns),
        periods_per_year=periods_per_year,
        periods_per_year_source=source,
        trades=stats.count,
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        expectancy=stats.expectancy,
        average_win=stats.average_win,
        average_loss=stats.average_loss,
        best_trade=stats.best,
        worst_trade=stats.worst,
    )


def _cagr(span_us: int | None, initial_equity: Decimal, final_equity: Decimal) -> float | None:
    """``span_us``: first to last point, ``None`` for fewer than two points."""
    if span_us is None or final_equity <= 0:
        return None
    years = span_us / YEAR_US
    if years <= 0:
        return None
    growth = float(final_equity / initial_equity)
    try:
        value = growth ** (1.0 / years) - 1.0
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _risk_ratios(
    returns: np.ndarray, periods_per_year: int
) -> tuple[float | None, float | None, float | None]:
    """(annualized volatility, Sharpe, Sortino); ``None`` where undefined."""
    if len(returns) < 2:
        return None, None, None
    scale = math.sqrt(periods_per_year)
    mean = float(np.mean(returns))
    deviation = float(np.std(returns, ddof=1))
    volatility = deviation * scale
    sharpe = mean / deviation * scale if deviation > 0 else None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    sortino = mean / downside * scale if downside > 0 else None
    return volatility, sharpe, sortino


def _max_drawdown(closes: np.ndarray) -> tuple[float, int]:
    """(largest peak-to-trough fall as a fraction, longest spell below a peak in days)."""
    if len(closes) == 0:
        return 0.0, 0
    peaks = np.maximum.accumulate(closes)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - closes / peaks, 0.0)
    longest = current = 0
    for below in falls > 0:
        current = current + 1 if below else 0
        longest = max(longest, current)
    return float(min(max(np.max(falls), 0.0), 1.0)), longest


@dataclass(frozen=True, slots=True)
class _TradeStats:
    count: int
    win_rate: float | None
    profit_factor: float | None
    expectancy: Decimal | None
    average_win: Decimal | None
    average_loss: Decimal | None
    best: Decimal | None
    worst: Decimal | None


def _trade_stats(trades: Sequence[ClosedTrade]) -> _TradeStats:
    pnls = [trade.pnl for trade in trades]
    wins = [pnl for pnl in pnls if pnl > 0]
    losses = [pnl for pnl in pnls if pnl < 0]
    gross_profit = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    return _TradeStats(
        count=len(pnls),
        win_rate=len(wins) / len(pnls) if pnls else None,
        profit_factor=float(gross_profit / gross_loss) if gross_loss > 0 else None,
        expectancy=sum(pnls, Decimal(0)) / len(pnls) if pnls else None,
        average_win=gross_profit / len(wins) if wins else None,
        average_loss=-gross_loss / len(losses) if losses else None,
        best=max(pnls) if pnls else None,
        worst=min(pnls) if pnls else None,
    )
