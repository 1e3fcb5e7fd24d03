"""Which trading calendar a series of bar times follows, read from the times themselves.

Stock bars are missing on weekends, holidays, overnight and over a midday break; those are not
data errors. A series follows a session calendar when some weekday never has a bar (a weekday
counts once the series spans it at least twice) or, for intraday bars, when every day's bars
fall inside one daily window (the same time-of-day stretch is empty on at least three session
days). Other time-of-day stretches that no day has bars in are breaks (a lunch break). A series
with none of these trades 24/7, and every missing bar in it is a hole.

Weekdays are 0 = Monday ... 6 = Sunday of the session day. A session day is the UTC day shifted
so that it starts in the middle of the daily closed window (sessions that cross UTC midnight
stay one day), named after the UTC day holding most of it; without a window it is the UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_US = 86_400_000_000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
MAX_HOLIDAY_RUN = 6
"""Most open weekdays in a row an exchange closes (Lunar New Year on Chinese exchanges)."""
MIN_WINDOW_SESSIONS = 3
EXCHANGE_DAYS_PER_YEAR = 252
"""Trading days of a five-day week (about 9 holidays a year): the convention of empyrical,
quantstats and backtrader for daily returns."""
ALWAYS_OPEN_DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class SessionCalendar:
    """What a series' bar times say about its market's opening hours."""

    closed_weekdays: frozenset[int]
    daily_window: bool
    day_start_us: int
    """Session days begin this long after UTC midnight of the day they are named after
    (negative: the evening before; 0 without a daily window)."""
    breaks: tuple[tuple[int, int], ...] = ()
    """Breaks within sessions: (end of the last bar before, open of the first bar after), as
    UTC times of day in µs."""

    @property
    def sessions(self) -> bool:
        """Missing weekends, holidays or nights are the calendar's, not holes."""
        return bool(self.closed_weekdays) or self.daily_window

    def describe(self) -> str:
        """E.g. "closed Sat, Sun, overnight and 03:30-05:00 UTC", "open 24/7"."""
        parts = [WEEKDAYS[day] for day in sorted(self.closed_weekdays)]
        if self.daily_window:
            parts.append("overnight")
        parts.extend(f"{_clock(start)}-{_clock(end)} UTC" for start, end in self.breaks)
        if not parts:
            return "open 24/7"
        listed = f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]
        return f"closed {listed}"


def _clock(time_of_day_us: int) -> str:
    minutes = time_of_day_us // 60_000_000
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


ALWAYS_OPEN = SessionCalendar(frozenset(), daily_window=False, day_start_us=0)


def weekday(days: np.ndarray) -> np.ndarray:
    """Weekday (0 = Monday) of day indices since the Unix epoch."""
    return np.asarray((days + EPOCH_WEEKDAY) % 7)


def closed_weekdays(days: np.ndarray) -> frozenset[int]:
    """Weekdays with no day in ``days`` although the span first..last holds each at least twice."""
    if len(days) == 0:
        return frozenset()
    first, last = int(np.min(days)), int(np.max(days))
    seen = set(np.unique(weekday(days)).tolist())
    spanned = _weekday_counts(np.array([first]), np.array([last - first + 1]))
    return frozenset(day for day in range(7) if day not in seen and int(spanned[day][0]) >= 2)


def infer_calendar(times_us: np.ndarray, interval_us: int | None) -> SessionCalendar:
    """The calendar of one symbol's bar times (in any order), ``interval_us`` their usual step.

    Bars longer than a day (weekly, monthly) follow no session calendar: their gaps are holes.
    """
    if interval_us is None or interval_us > DAY_US or len(times_us) < 2:
        return ALWAYS_OPEN
    window = _daily_window(times_us, interval_us) if interval_us < DAY_US else None
    shift, breaks = window or (0, ())
    days = np.unique((times_us - shift) // DAY_US)
    return SessionCalendar(
        closed_weekdays(days), daily_window=window is not None, day_start_us=shift, breaks=breaks
    )


def _daily_window(
    times_us: np.ndarray, interval_us: int
) -> tuple[int, tuple[tuple[int, int], ...]] | None:
    """(Start of the session day, breaks) when the widest time-of-day stretch without bars is
    wider than one bar and at least ``MIN_WINDOW_SESSIONS`` session days lie around it: the
    day starts in its middle, and the other such stretches are breaks. Otherwise ``None``."""
    moments = np.unique(times_us % DAY_US)
    following = np.append(moments[1:], moments[0] + DAY_US)
    holes = following - moments
    widest = int(np.argmax(holes))
    if int(holes[widest]) <= interval_us:
        return None
    start = int(moments[widest] + holes[widest] // 2) % DAY_US
    if start >= DAY_US // 2:  # the session lies mostly in the next UTC day: name it after that
        start -= DAY_US
    if len(np.unique((times_us - start) // DAY_US)) < MIN_WINDOW_SESSIONS:
        return None
    breaks = tuple(
        ((int(moments[i]) + interval_us) % DAY_US, int(following[i]) % DAY_US)
        for i in np.flatnonzero(holes > interval_us).tolist()
        if i != widest
    )
    return start, breaks


@dataclass(frozen=True, slots=True)
class GapVerdict:
    """Per gap: explained by the calendar or not; the whole closed weekdays and holidays it
    skips when explained (0 otherwise); and the open weekdays it skips, explained or not."""

    calendar: np.ndarray
    closed_days: np.ndarray
    holidays: np.ndarray
    overnight: np.ndarray
    breaks: np.ndarray
    open_days: np.ndarray


def judge_gaps(
    calendar: SessionCalendar, interval_us: int, after_us: np.ndarray, before_us: np.ndarray
) -> GapVerdict:
    """Which gaps (bar at ``after_us``, next bar at ``before_us``) the calendar explains.

    A gap is the calendar's when it is exactly one of the calendar's breaks, or when it runs
    from one session day to a later one and skips at most ``MAX_HOLIDAY_RUN`` open weekdays
    (none without closed weekdays: a market open every day has no holidays);
    for intraday bars without a daily window it must also skip a closed weekday (a 24/5
    market's weekend). Any other gap within a session is a hole.
    """
    first = (after_us - calendar.day_start_us) // DAY_US
    last = (before_us - calendar.day_start_us) // DAY_US
    skipped = np.maximum(last - first - 1, 0)
    counts = _weekday_counts(first + 1, skipped)
    closed = sum((counts[day] for day in calendar.closed_weekdays), np.zeros_like(skipped))
    open_days = skipped - closed
    crosses = last > first
    most_holidays = MAX_HOLIDAY_RUN if calendar.closed_weekdays else 0  # only exchanges have any
    explained = crosses & (open_days <= most_holidays) & calendar.sessions
    if interval_us < DAY_US and not calendar.daily_window:
        explained &= closed > 0
    ends, opens = (after_us + interval_us) % DAY_US, before_us % DAY_US
    breaks = np.zeros(len(after_us), dtype=bool)
    for end, reopen in calendar.breaks:
        breaks |= (ends == end) & (opens == reopen) & ~crosses
    explained |= breaks
    return GapVerdict(
        calendar=explained,
        closed_days=np.where(explained, closed, 0),
        holidays=np.where(explained, open_days, 0),
        overnight=explained & crosses & (skipped == 0),
        breaks=breaks,
        open_days=open_days,
    )


def _weekday_counts(start: np.ndarray, length: np.ndarray) -> list[np.ndarray]:
    """For each weekday, how many of the days ``start .. start + length - 1`` fall on it."""
    first = weekday(start)
    weeks, rest = length // 7, length % 7
    return [weeks + ((day - first) % 7 < rest) for day in range(7)]


def days_per_year(days: np.ndarray) -> int:
    """Daily returns a year for a series with points on UTC ``days``: 365 when it trades every
    weekday, 252 for a five-day week, and in proportion for other weeks."""
    closed = closed_weekdays(days)
    if not closed:
        return ALWAYS_OPEN_DAYS_PER_YEAR
    return round(EXCHANGE_DAYS_PER_YEAR * (7 - len(closed)) / 5)
