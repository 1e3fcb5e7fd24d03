"""Bars missing on weekends, holidays and nights of an exchange calendar load with a summary;
holes (a missing minute inside a session, any hole in a 24/7 series) are still refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.marketdata import GapsError, load_bars, read_bars, validate_bars
from tests.marketdata.calendars import (
    daily_stock_file,
    intraday_stock_file,
    lunch_break_minutes,
    trading_days,
    write_bars,
)


def test_daily_stock_bars_load_with_one_calendar_summary(tmp_path: Path) -> None:
    bars, report = read_bars(daily_stock_file(tmp_path / "aapl.csv"))
    assert len(bars["AAPL"]) == 252 and report.gaps == ()
    (summary,) = report.calendar_gaps
    assert (summary.closed_days, summary.holidays) == (102, 8)
    assert report.calendar_message() == (
        f"{tmp_path / 'aapl.csv'}: AAPL: 102 weekend days and 8 weekday holidays without bars, "
        "as its exchange calendar has them (closed Sat and Sun); not counted as gaps"
    )


def test_intraday_session_bars_load_with_nights_weekends_and_holidays(tmp_path: Path) -> None:
    bars, report = read_bars(intraday_stock_file(tmp_path / "msft.csv"))
    assert len(bars["MSFT"]) == 14 * 390 and report.gaps == ()
    (summary,) = report.calendar_gaps
    assert (summary.overnight, summary.closed_days, summary.holidays) == (11, 4, 1)
    assert "11 nights, 4 weekend days and 1 weekday holiday" in report.calendar_message()
    assert "closed Sat, Sun and overnight" in report.calendar_message()


def test_a_midday_break_is_the_calendars_a_missing_minute_beside_it_a_hole(
    tmp_path: Path,
) -> None:
    minutes = lunch_break_minutes(trading_days(date(2023, 1, 9), date(2023, 1, 27)))
    _, report = read_bars(write_bars(tmp_path / "sh600000.csv", minutes))
    (summary,) = report.calendar_gaps
    assert (summary.overnight, summary.breaks, summary.closed_days) == (11, 14, 4)
    assert "closed Sat, Sun, overnight and 03:30-05:00 UTC" in report.calendar_message()
    del minutes[240 + 120]  # the first minute after the break on the second day
    with pytest.raises(
        GapsError,
        match=r"1 gap.*row 361: .* between 2023-01-10T03:29:00\+00:00 and 2023-01-10T05:01",
    ):
        load_bars(write_bars(tmp_path / "sh600000.csv", minutes))


def test_a_missing_minute_inside_a_session_is_a_hole(tmp_path: Path) -> None:
    path = intraday_stock_file(tmp_path / "msft.csv", skip=400)  # 2023-01-10 14:40 UTC
    with pytest.raises(GapsError) as caught:
        load_bars(path)
    assert "1 gap(s) in the bars: MSFT row 401: 1 bar(s) missing between 2023-01-10T14:39" in str(
        caught.value
    )
    assert str(caught.value).endswith("(pass allow_gaps=True to load anyway)")
    assert caught.value.message_for("rerun with --allow-gaps").endswith(
        "(rerun with --allow-gaps to load anyway)"
    )
    _, report = read_bars(path, allow_gaps=True)
    assert len(report.gaps) == 1 and report.calendar_gaps[0].overnight == 11


def test_weeks_without_daily_bars_are_a_hole_not_holidays(tmp_path: Path) -> None:
    days = [
        d
        for d in trading_days(date(2023, 1, 2), date(2023, 12, 29))
        if not date(2023, 3, 6) <= d <= date(2023, 3, 17)
    ]
    path = daily_stock_file(tmp_path / "aapl.csv", days)
    with pytest.raises(GapsError, match=r"1 gap.*AAPL row 44: 10 bar"):
        load_bars(path)
    _, report = read_bars(path, allow_gaps=True)
    assert report.calendar_gaps[0].holidays == 8  # the hole is not counted as holidays


def test_a_missing_weekend_in_a_24_7_series_is_a_hole(tmp_path: Path) -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    stamps = [start + timedelta(days=n) for n in range(90) if n not in (6, 7)]  # Sat, Sun
    path = write_bars(tmp_path / "btc.csv", stamps)
    with pytest.raises(GapsError, match="BTC row 7: 2 bar"):
        load_bars(path)


def test_bars_from_any_source_get_the_same_calendar(tmp_path: Path) -> None:
    bars = load_bars(daily_stock_file(tmp_path / "aapl.csv"))["AAPL"]
    report = validate_bars(list(bars))
    assert report.gaps == () and report.calendar_gaps[0].closed_days == 102
