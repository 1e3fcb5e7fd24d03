"""The schedule's periods: UTC days, Monday weeks and calendar months, closed ones only."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.application.reporting.schedule import Cadence, closed_periods, period_start

MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(
    first=MOMENTS,
    length=st.timedeltas(timedelta(0), timedelta(days=120)),
    cadence=st.sampled_from(Cadence),
)
def test_closed_periods_tile_the_span_without_gaps(
    first: datetime, length: timedelta, cadence: Cadence
) -> None:
    last = first + length
    now = last + timedelta(days=40)  # every period holding the span has closed
    periods = list(closed_periods(first, last, cadence, now))
    assert periods[0][0] <= first < periods[0][1]
    assert periods[-1][0] <= last < periods[-1][1]
    for (_, end), (start, _) in itertools.pairwise(periods):
        assert end == start
    for start, _ in periods:
        assert period_start(start, cadence) == start
        assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    sunday = datetime(2024, 3, 31, 23, 59, tzinfo=UTC)
    assert period_start(sunday, Cadence.WEEKLY) == datetime(2024, 3, 25, tzinfo=UTC)
    assert period_start(sunday, Cadence.MONTHLY) == datetime(2024, 3, 1, tzinfo=UTC)
    assert list(closed_periods(sunday, sunday, Cadence.MONTHLY, datetime(2024, 4, 1, tzinfo=UTC)))
    assert (
        list(
            closed_periods(
                sunday, sunday, Cadence.MONTHLY, datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC)
            )
        )
        == []
    )
