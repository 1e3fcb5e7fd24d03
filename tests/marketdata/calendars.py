"""Bar files that follow an exchange calendar, generated in the tests: daily bars on weekdays
with holidays, and minute bars inside a daily session on weekdays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np

HEADER = "timestamp,open,high,low,close,volume\n"
HOLIDAYS = (
    date(2023, 1, 16),
    date(2023, 2, 20),
    date(2023, 4, 7),
    date(2023, 5, 29),
    date(2023, 7, 4),
    date(2023, 9, 4),
    date(2023, 11, 23),
    date(2023, 12, 25),
    date(2024, 1, 1),
)
"""Weekdays without a session, as on an exchange (nine US holidays)."""
SESSION_OPEN = time(14, 30)  # 09:30 New York (EST) in UTC
SESSION_MINUTES = 390  # to 16:00


def trading_days(first: date, last: date, holidays: Iterable[date] = HOLIDAYS) -> list[date]:
    """Weekdays from ``first`` to ``last`` that are not holidays."""
    closed = set(holidays)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in days if day.weekday() < 5 and day not in closed]


def write_bars(path: Path, stamps: list[datetime], seed: int = 7) -> Path:
    """A random walk of valid OHLCV bars at ``stamps`` (UTC)."""
    rng = np.random.default_rng(seed)
    closes = 100 * np.cumprod(1 + rng.normal(0.0004, 0.012, len(stamps)))
    lines = []
    previous = 100.0
    for stamp, close in zip(stamps, closes, strict=True):
        high, low = max(previous, close) * 1.002, min(previous, close) * 0.998
        iso = stamp.isoformat().replace("+00:00", "Z")
        lines.append(f"{iso},{previous:.2f},{high:.2f},{low:.2f},{close:.2f},1000\n")
        previous = close
    path.write_text(HEADER + "".join(lines))
    return path


def daily_stock_file(path: Path, days: list[date] | None = None) -> Path:
    """Daily bars of 2023 (weekdays without the holidays), stamped at UTC midnight."""
    chosen = trading_days(date(2023, 1, 2), date(2023, 12, 29)) if days is None else days
    return write_bars(path, [datetime.combine(d, time(), UTC) for d in chosen])


def session_minutes(days: list[date]) -> list[datetime]:
    """Every minute of the 09:30-16:00 session of each day, in UTC."""
    return [
        datetime.combine(day, SESSION_OPEN, UTC) + timedelta(minutes=minute)
        for day in days
        for minute in range(SESSION_MINUTES)
    ]


def lunch_break_minutes(days: list[date]) -> list[datetime]:
    """Minutes of a Shanghai-like session, 09:30-11:30 and 13:00-15:00 (UTC+8), in UTC."""
    morning, afternoon = time(1, 30), time(5)
    return [
        datetime.combine(day, start, UTC) + timedelta(minutes=minute)
        for day in days
        for start in (morning, afternoon)
        for minute in range(120)
    ]


def intraday_stock_file(path: Path, skip: int | None = None) -> Path:
    """Minute bars of three weeks of sessions (one holiday); ``skip`` drops that bar (a hole)."""
    stamps = session_minutes(trading_days(date(2023, 1, 9), date(2023, 1, 27)))
    if skip is not None:
        del stamps[skip]
    return write_bars(path, stamps)
