"""Every named query against values computed independently in Python from the same events."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from projections.queries.analytics import FilterError, Filters, UnknownQueryError, run_named
from tests.analytics import expected
from tests.analytics.conftest import Analytics

HOUR_US = 3_600_000_000


def test_pnl_by_day_matches_valuations(analytics: Analytics) -> None:
    result = run_named(analytics.client, "pnl_by_day")
    got = {(row["day"], row["strategy"]): (row["pnl"], row["realized_pnl"], row["fees_paid"])
           for row in result.records()}  # fmt: skip

    want = expected.pnl_by_day(analytics.events)
    assert len(want) == 4  # two strategies x two days
    assert got == want


def test_pnl_by_day_filters_by_strategy_and_day(analytics: Analytics) -> None:
    filters = Filters(start=datetime(2024, 1, 2, tzinfo=UTC), strategy="momentum")
    rows = run_named(analytics.client, "pnl_by_day", filters).records()
    want = expected.pnl_by_day(analytics.events)
    assert [(row["day"], row["strategy"]) for row in rows] == [
        (datetime(2024, 1, 2).date(), "momentum")
    ]
    assert rows[0]["pnl"] == want[(datetime(2024, 1, 2).date(), "momentum")][0]


def test_equity_curve_tracks_peak_and_drawdown(analytics: Analytics) -> None:
    rows = run_named(analytics.client, "equity_curve", Filters(strategy="sma_cross")).records()
    valuations = [
        e for e in expected.of_type(analytics.events, "PortfolioValued")
        if e.data["strategy"] == "sma_cross"
    ]  # fmt: skip
    assert len(rows) == len(valuations)
    peak = Decimal("-Infinity")
    for row, event in zip(rows, valuations, strict=True):
        equity = Decimal(event.data["equity"])
        peak = max(peak, equity)
        assert expected.microseconds(row["time"]) == event.event_time_us
        assert (row["equity"], row["peak"], row["drawdown"]) == (equity, peak, equity - peak)
        assert row["drawdown_pct"] == pytest.approx(float(equity / peak) - 1, abs=1e-12)
    assert min(row["drawdown"] for row in rows) < 0


def test_fill_rate_is_filled_over_submitted(analytics: Analytics) -> None:
    rows = run_named(analytics.client, "fill_rate").records()
    want = expected.fill_rate(analytics.events)
    assert {
        (r["strategy"], r["symbol"]): (r["submitted_qty"], r["filled_qty"]) for r in rows
    } == want
    for row in rows:
        submitted, filled = want[(row["strategy"], row["symbol"])]
        assert row["fill_rate"] == pytest.approx(float(filled / submitted), rel=1e-12)
        assert 0 < row["fill_rate"] < 1  # rejections and partial fills exist


def test_latency_percentiles_are_exact(analytics: Analytics) -> None:
    rows = run_named(analytics.client, "latency").records()
    want = expected.latencies_us(analytics.events)
    assert {(row["stage"], row["strategy"]) for row in rows} == set(want)
    for row in rows:
        values = np.array(want[(row["stage"], row["strategy"])], dtype=np.int64)
        assert row["orders"] == len(values)
        for column, level in (("p50_ms", 50), ("p90_ms", 90), ("p99_ms", 99)):
            assert row[column] == pytest.approx(np.percentile(values, level) / 1000, rel=1e-12)
        assert row["max_ms"] == pytest.approx(values.max() / 1000, rel=1e-12)


def test_slippage_distribution_against_the_decision_price(analytics: Analytics) -> None:
    rows = run_named(analytics.client, "slippage").records()
    want = expected.slippage_bps(analytics.events)
    assert {(row["strategy"], row["symbol"]) for row in rows} == set(want)
    for row in rows:
        values = np.array([float(bps) for bps in want[(row["strategy"], row["symbol"])]])
        assert row["fills"] == len(values)
        assert row["mean_bps"] == pytest.approx(values.mean(), abs=1e-9)
        for column, level in (("p05_bps", 5), ("p50_bps", 50), ("p95_bps", 95)):
            assert row[column] == pytest.approx(np.percentile(values, level), abs=1e-9)
        assert (row["min_bps"], row["max_bps"]) == pytest.approx((values.min(), values.max()))
        assert row["min_bps"] < 0 < row["max_bps"]


def test_ohlcv_resamples_bars(analytics: Analytics) -> None:
    rows = run_named(analytics.client, "ohlcv", Filters(symbol="ETHUSDT", interval="4h")).records()
    want = expected.ohlcv(analytics.events, "ETHUSDT", 4 * HOUR_US)
    got = [(expected.microseconds(r["time"]), r["open"], r["high"], r["low"], r["close"],
            r["volume"]) for r in rows]  # fmt: skip
    assert got == want
    assert {row["bars"] for row in rows[:-1]} == {240}


def test_exposure_by_symbol_over_time(analytics: Analytics) -> None:
    filters = Filters(symbol="BTCUSDT", interval="1h", strategy="")
    rows = run_named(analytics.client, "exposure", filters).records()
    want = expected.exposure(analytics.events, "BTCUSDT", HOUR_US)
    got = [(expected.microseconds(r["time"]), r["position"], r["exposure"]) for r in rows]
    assert got == want
    assert any(position != 0 for _, position, _ in want)


def test_time_filters_are_inclusive_start_exclusive_end(analytics: Analytics) -> None:
    start, end = datetime(2024, 1, 1, 3, tzinfo=UTC), datetime(2024, 1, 1, 5, tzinfo=UTC)
    rows = run_named(
        analytics.client, "ohlcv", Filters(start=start, end=end, symbol="BTCUSDT", interval="1h")
    ).records()
    assert [row["time"].hour for row in rows] == [3, 4]
    inside = [
        e for e in expected.of_type(analytics.events, "OrderSubmitted")
        if start <= e.event_time < end and e.data["strategy"] == "momentum"
    ]  # fmt: skip
    filters = Filters(start=start, end=end, strategy="momentum")
    fill_rate = run_named(analytics.client, "fill_rate", filters).records()
    assert sum(row["orders"] for row in fill_rate) == len(inside)


def test_filter_values_are_bound_not_pasted(analytics: Analytics) -> None:
    hostile = Filters(strategy="x' OR 1=1 --", symbol="'; DROP TABLE fills; --")
    assert run_named(analytics.client, "fill_rate", hostile).rows == []
    assert run_named(analytics.client, "fill_rate").rows  # the table is still there


def test_bad_names_and_filters_fail_clearly(analytics: Analytics) -> None:
    with pytest.raises(UnknownQueryError, match="choose from"):
        run_named(analytics.client, "pnl")
    with pytest.raises(FilterError, match="does not take --symbol"):
        run_named(analytics.client, "pnl_by_day", Filters(symbol="BTCUSDT"))
    with pytest.raises(FilterError, match="interval"):
        run_named(analytics.client, "ohlcv", Filters(interval="5 parsecs"))
    start = datetime(2024, 1, 2, tzinfo=UTC)
    with pytest.raises(FilterError, match="before"):
        run_named(analytics.client, "ohlcv", Filters(start=start, end=start))
