"""Calendar inference from bar times: which weekdays and hours a series never trades, which
gaps that explains, and how many daily returns a year it has."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from domain.calendar import (
    DAY_US,
    closed_weekdays,
    days_per_year,
    infer_calendar,
    judge_gaps,
)
from tests.marketdata.calendars import session_minutes, trading_days

HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000


def micros(stamps: list[datetime]) -> np.ndarray:
    return np.array([int(stamp.timestamp()) * 1_000_000 for stamp in stamps], dtype=np.int64)


def day_index(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def days_of(days: list[date]) -> np.ndarray:
    return np.array([day_index(day) for day in days], dtype=np.int64)


def every_day(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def test_weekdays_only_close_the_weekend_and_give_252_periods() -> None:
    days = days_of(trading_days(date(2023, 1, 2), date(2023, 12, 29)))
    assert closed_weekdays(days) == {5, 6}
    assert days_per_year(days) == 252


def test_every_day_trades_24_7_and_gives_365_periods() -> None:
    days = days_of(every_day(date(2023, 1, 1), 90))
    assert closed_weekdays(days) == frozenset()
    assert days_per_year(days) == 365


def test_a_weekday_counts_as_closed_only_once_the_span_holds_it_twice() -> None:
    one_week = days_of(trading_days(date(2023, 1, 2), date(2023, 1, 6)))
    assert closed_weekdays(one_week) == frozenset() and days_per_year(one_week) == 365
    one_weekend = days_of(trading_days(date(2023, 1, 2), date(2023, 1, 13)))
    assert closed_weekdays(one_weekend) == frozenset()
    two_weekends = days_of(trading_days(date(2023, 1, 2), date(2023, 1, 17)))
    assert closed_weekdays(two_weekends) == {5, 6}
    assert days_per_year(np.zeros(0, dtype=np.int64)) == 365


def test_six_day_weeks_scale_the_exchange_convention() -> None:
    days = [d for d in every_day(date(2023, 1, 1), 120) if d.weekday() != 4]  # closed Fridays
    assert days_per_year(days_of(days)) == round(252 * 6 / 5)


def test_an_intraday_session_has_a_daily_window_and_session_days() -> None:
    stamps = micros(session_minutes(trading_days(date(2023, 1, 9), date(2023, 1, 27))))
    calendar = infer_calendar(stamps, MINUTE_US)
    assert calendar.daily_window and calendar.closed_weekdays == {5, 6}
    assert calendar.describe() == "closed Sat, Sun and overnight"
    # Session days start in the middle of the night (last bar 20:59, first 14:30 UTC).
    assert calendar.day_start_us == (5 * 3600 + 44 * 60 + 30) * 1_000_000


def test_a_24_7_minute_series_has_no_calendar() -> None:
    start = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    stamps = start + MINUTE_US * np.arange(20 * 24 * 60, dtype=np.int64)
    calendar = infer_calendar(stamps, MINUTE_US)
    assert not calendar.sessions and calendar.describe() == "open 24/7"


def test_one_hole_in_a_short_24_7_series_is_not_a_daily_window() -> None:
    """Two days with one missing hour: the same empty hour on fewer than three session days."""
    start = int(datetime(2023, 1, 1, 12, tzinfo=UTC).timestamp()) * 1_000_000
    stamps = start + MINUTE_US * np.arange(40 * 60, dtype=np.int64)
    stamps = stamps[(stamps < start + 22 * HOUR_US) | (stamps >= start + 23 * HOUR_US)]
    assert not infer_calendar(stamps, MINUTE_US).sessions


def test_weekly_bars_follow_no_calendar() -> None:
    stamps = micros([datetime(2023, 1, 2, tzinfo=UTC) + timedelta(weeks=n) for n in range(20)])
    assert not infer_calendar(stamps, 7 * DAY_US).sessions


@pytest.mark.parametrize(
    ("after", "before", "explained", "closed", "holidays"),
    [
        (date(2023, 1, 6), date(2023, 1, 9), True, 2, 0),  # Fri -> Mon: a weekend
        (date(2023, 7, 3), date(2023, 7, 5), True, 0, 1),  # Mon -> Wed: a holiday
        (date(2023, 1, 20), date(2023, 1, 30), True, 4, 5),  # a week off (Lunar New Year)
        (date(2023, 1, 20), date(2023, 2, 1), False, 0, 0),  # MAX_HOLIDAY_RUN + 1: a hole
        (date(2023, 3, 3), date(2023, 3, 20), False, 0, 0),  # two weeks: a hole
    ],
)
def test_daily_gaps_the_calendar_explains(
    after: date, before: date, explained: bool, closed: int, holidays: int
) -> None:
    calendar = infer_calendar(
        days_of(trading_days(date(2023, 1, 2), date(2023, 12, 29))) * DAY_US, DAY_US
    )
    verdict = judge_gaps(
        calendar,
        DAY_US,
        np.array([day_index(after) * DAY_US]),
        np.array([day_index(before) * DAY_US]),
    )
    assert bool(verdict.calendar[0]) is explained
    assert (int(verdict.closed_days[0]), int(verdict.holidays[0])) == (closed, holidays)


def test_a_24_5_market_closes_for_the_weekend_but_not_at_midnight() -> None:
    """Hourly bars round the clock on weekdays (foreign exchange): the weekend is the
    calendar's, a missing hour across midnight on a weekday is a hole."""
    hours = [
        datetime.combine(day, time(), UTC) + timedelta(hours=hour)
        for day in trading_days(date(2023, 1, 2), date(2023, 1, 27), holidays=())
        for hour in range(24)
    ]
    calendar = infer_calendar(micros(hours), HOUR_US)
    assert calendar.closed_weekdays == {5, 6} and not calendar.daily_window
    friday, monday = datetime(2023, 1, 6, 23, tzinfo=UTC), datetime(2023, 1, 9, tzinfo=UTC)
    tuesday, wednesday = datetime(2023, 1, 10, 22, tzinfo=UTC), datetime(2023, 1, 11, tzinfo=UTC)
    verdict = judge_gaps(calendar, HOUR_US, micros([friday, tuesday]), micros([monday, wednesday]))
    assert verdict.calendar.tolist() == [True, False]


def test_a_market_open_every_day_has_nights_but_no_holidays() -> None:
    """Minute bars round the clock but for an hour's daily maintenance: the hour is the
    calendar's, a missing day is a hole."""
    start = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000
    stamps = start + MINUTE_US * np.arange(30 * 24 * 60, dtype=np.int64)
    stamps = stamps[stamps % DAY_US >= HOUR_US]  # nothing 00:00-01:00 UTC
    calendar = infer_calendar(stamps, MINUTE_US)
    assert calendar.daily_window and not calendar.closed_weekdays
    night = start + 2 * DAY_US - MINUTE_US, start + 2 * DAY_US + HOUR_US
    lost_day = start + 5 * DAY_US - MINUTE_US, start + 6 * DAY_US + HOUR_US
    verdict = judge_gaps(
        calendar,
        MINUTE_US,
        np.array([night[0], lost_day[0]]),
        np.array([night[1], lost_day[1]]),
    )
    assert verdict.calendar.tolist() == [True, False]
