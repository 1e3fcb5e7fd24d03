"""``lh report schedule``: a report for every closed period the log has events in.

A period is closed when its end (UTC) has passed by the wall clock. Periods: a day is
[00:00, 24:00) UTC, a week starts Monday 00:00 UTC, a month on the 1st. Each period's report
is generated once: one already published (its manifest is in the object store) is skipped, so
running the schedule again, or from a service every hour, only adds the new periods.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import orjson

from domain.events.envelope import from_microseconds
from infra.eventstore.store import EventStore


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def period_start(moment: datetime, cadence: Cadence) -> datetime:
    """The start of the period ``moment`` (UTC) falls in."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == Cadence.WEEKLY:
        return day - timedelta(days=day.weekday())
    if cadence == Cadence.MONTHLY:
        return day.replace(day=1)
    return day


def next_start(start: datetime, cadence: Cadence) -> datetime:
    if cadence == Cadence.DAILY:
        return start + timedelta(days=1)
    if cadence == Cadence.WEEKLY:
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def event_time_span(store: EventStore, head: int) -> tuple[datetime, datetime] | None:
    """The earliest and latest event time in positions ``1..head`` (``None``: empty log)."""
    low: int | None = None
    high = 0
    for page in store.read_notifications(0, stop=head):
        for notification in page:
            moment = orjson.loads(notification.state)["event_time_us"]
            low = moment if low is None else min(low, moment)
            high = max(high, moment)
    if low is None:
        return None
    return from_microseconds(low), from_microseconds(high)


def closed_periods(
    first: datetime, last: datetime, cadence: Cadence, now: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Every period from the one holding ``first`` to the one holding ``last`` that ended
    by ``now``, oldest first."""
    start = period_start(first, cadence)
    while start <= last:
        end = next_start(start, cadence)
        if end > now:
            return
        yield start, end
        start = end
