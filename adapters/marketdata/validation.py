"""Validate bars before anyone trades on them, and say exactly what is wrong and where.

Fatal: non-numeric or missing values, NaN/infinite values, zero or negative prices, negative
volume, values out of the bounds of what may be recorded (``domain.values``: prices below
10^10, volumes below 10^15, at most 18 decimal places), high below max(open, close), low above
min(open, close), duplicate or decreasing timestamps. Gaps (spacing longer than the bar
interval, inferred as the modal spacing) are reported separately. Gaps the series' own trading
calendar explains (weekends, holidays, nights and midday breaks of a session market:
``domain.calendar``) are summarized once per symbol and are not gaps; the loader treats the
other gaps, real holes, as fatal unless the caller allows gaps.

Checks are vectorized on float64 copies of the prices. Decimal -> float rounding is monotone,
so a float violation is always a real one; only violations smaller than one float ulp
(~1e-16 relative) could go unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from adapters.marketdata.columns import PRICE_COLUMNS, VALUE_COLUMNS
from adapters.marketdata.numbers import too_fine
from domain.calendar import DAY_US, SessionCalendar, infer_calendar, judge_gaps
from domain.events.envelope import from_microseconds
from domain.market import Bar
from domain.values import PRECISION, PRICE, SCALE, VOLUME

LISTED = 50
EXACT_BELOW = float(10 ** (PRECISION - SCALE))  # below it, 18 places fit in 28 digits
SHOWN_IN_ERRORS = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """A fatal defect at one data row (1-based, as in the file)."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between two consecutive bars of ``symbol``; ``row`` is the bar after it."""

    symbol: str
    row: int
    after_us: int
    before_us: int
    missing_bars: int

    def __str__(self) -> str:
        return (
            f"{self.symbol} row {self.row}: {self.missing_bars} bar(s) missing between "
            f"{from_microseconds(self.after_us).isoformat()} and "
            f"{from_microseconds(self.before_us).isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class CalendarGaps:
    """The bars of ``symbol`` its session calendar leaves out: summarized, never an error."""

    symbol: str
    calendar: SessionCalendar
    closed_days: int
    holidays: int
    overnight: int
    breaks: int

    def __str__(self) -> str:
        parts = [_count(self.closed_days, "weekend day"), _count(self.holidays, "weekday holiday")]
        if self.calendar.breaks:
            parts.insert(0, _count(self.breaks, "break"))
        if self.calendar.daily_window:
            parts.insert(0, _count(self.overnight, "night"))
        return (
            f"{self.symbol}: {', '.join(parts[:-1])} and {parts[-1]} without bars, as its "
            f"exchange calendar has them ({self.calendar.describe()}); not counted as gaps"
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass(frozen=True)
class DataReport:
    """What validation found. ``problems`` lists at most ``LISTED`` of them."""

    source: str
    rows: int
    timestamp_format: str
    bars_per_symbol: dict[str, int] = field(default_factory=dict)
    interval_us: dict[str, int | None] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    problem_count: int = 0
    gaps: tuple[Gap, ...] = ()
    calendar_gaps: tuple[CalendarGaps, ...] = ()

    @property
    def ok(self) -> bool:
        """No fatal problems (gaps are judged by the caller)."""
        return self.problem_count == 0

    def problem_message(self) -> str:
        shown = "; ".join(str(problem) for problem in self.problems[:SHOWN_IN_ERRORS])
        rest = self.problem_count - min(self.problem_count, SHOWN_IN_ERRORS)
        more = f"; and {rest} more problem(s)" if rest else ""
        return f"{self.source}: {self.problem_count} problem(s): {shown}{more}"

    def gap_message(self) -> str:
        shown = "; ".join(str(gap) for gap in self.gaps[:SHOWN_IN_ERRORS])
        rest = len(self.gaps) - min(len(self.gaps), SHOWN_IN_ERRORS)
        more = f"; and {rest} more gap(s)" if rest else ""
        return f"{self.source}: {len(self.gaps)} gap(s) in the bars: {shown}{more}"

    def calendar_message(self) -> str:
        """One line per symbol that follows a session calendar ("" for none)."""
        return "\n".join(f"{self.source}: {summary}" for summary in self.calendar_gaps)


@dataclass(frozen=True, slots=True)
class Series:
    """One symbol's bars as arrays; ``rows`` are the 1-based data rows they came from."""

    symbol: str
    rows: np.ndarray
    time_us: np.ndarray
    values: dict[str, np.ndarray]
    too_fine: dict[str, np.ndarray]  # more decimal places than the read models keep


class ProblemLog:
    """Collects problems; keeps the earliest rows for the report and counts the rest."""

    def __init__(self) -> None:
        self._found: list[tuple[np.ndarray, list[str]]] = []
        self.count = 0

    def add(self, rows: np.ndarray, reasons: list[str]) -> None:
        """``reasons`` covers the first rows (enough to list); ``rows`` all of them."""
        if len(rows):
            self.count += len(rows)
            self._found.append((rows[:LISTED], reasons[:LISTED]))

    def listed(self) -> tuple[Problem, ...]:
        problems = [
            Problem(int(row), reason)
            for rows, reasons in self._found
            for row, reason in zip(rows, reasons, strict=False)
        ]
        problems.sort(key=lambda problem: problem.row)
        return tuple(problems[:LISTED])


TextOf = Callable[[str, int], str]
"""The original text of column ``name`` at 1-based data row ``row`` (for messages)."""


def check_values(series: Series, log: ProblemLog, text_of: TextOf) -> None:
    """Row-wise checks: finite, positive prices, non-negative volume, high/low consistency."""
    values = series.values
    rows = series.rows

    def shown(name: str, position: int) -> str:
        return text_of(name, int(rows[position]))

    for name in VALUE_COLUMNS:
        column = values[name]
        bad = ~np.isfinite(column)
        positions = np.flatnonzero(bad)
        log.add(rows[positions], [_not_finite(name, shown(name, p)) for p in positions[:LISTED]])
        limit = "zero or negative" if name != "volume" else "negative"
        wrong = (column <= 0) if name != "volume" else (column < 0)
        positions = np.flatnonzero(wrong & ~bad)
        log.add(
            rows[positions], [f"{name} is {limit}: {shown(name, p)}" for p in positions[:LISTED]]
        )
        _check_bound(
            name,
            column=column,
            skipped=bad | series.too_fine[name],
            rows=rows,
            log=log,
            shown=shown,
        )
    opens, highs, lows, closes = (values[name] for name in PRICE_COLUMNS)
    positions = np.flatnonzero(highs < np.maximum(opens, closes))
    reasons = []
    for p in positions[:LISTED]:
        side = "open" if opens[p] >= closes[p] else "close"
        reasons.append(f"high {shown('high', p)} < {side} {shown(side, p)}")
    log.add(rows[positions], reasons)
    positions = np.flatnonzero(lows > np.minimum(opens, closes))
    reasons = []
    for p in positions[:LISTED]:
        side = "open" if opens[p] <= closes[p] else "close"
        reasons.append(f"low {shown('low', p)} > {side} {shown(side, p)}")
    log.add(rows[positions], reasons)


def _check_bound(
    name: str,
    *,
    column: np.ndarray,
    skipped: np.ndarray,
    rows: np.ndarray,
    log: ProblemLog,
    shown: Callable[[str, int], str],
) -> None:
    """Values beyond what may be recorded (``domain.values``): too large, with more decimal
    places than the read models keep, or more significant digits than the domain computes
    with (possible only from 10^10 up). Floats preselect (Decimal -> float rounding is monotone
    and the limits are floats exactly); the exact ``Decimal`` of the text decides."""
    bound = VOLUME if name == "volume" else PRICE
    candidates = np.flatnonzero((np.abs(column) >= min(float(bound.limit), EXACT_BELOW)) & ~skipped)
    large = np.array(
        [p for p in candidates if bound.problem(Decimal(shown(name, int(p))))], dtype=np.int64
    )
    log.add(
        rows[large],
        [
            f"{name} {shown(name, int(p))} is out of bounds: {bound.describe()}"
            for p in large[:LISTED]
        ],
    )
    fine = np.flatnonzero(skipped & np.isfinite(column))
    log.add(
        rows[fine],
        [
            f"{name} {shown(name, int(p))} is out of bounds: it has more than {SCALE} "
            "decimal places (the read models keep 18)"
            for p in fine[:LISTED]
        ],
    )


def _not_finite(name: str, text: str) -> str:
    plain = text.lower().lstrip("+-")
    if plain == "":
        return f"{name} is empty"
    if plain == "nan":
        return f"{name} is NaN"
    if plain in ("inf", "infinity"):
        return f"{name} is infinite ({text})"
    return f"{name} is not a number: {text!r}"


@dataclass(frozen=True, slots=True)
class TimeCheck:
    """What the timestamps of one series say: its interval, holes, and calendar gaps."""

    interval_us: int | None
    gaps: list[Gap]
    calendar_gaps: CalendarGaps | None


def check_times(series: Series, log: ProblemLog) -> TimeCheck:
    """Ordering problems go to ``log``; gaps the calendar explains are summarized, not listed."""
    times = series.time_us
    if len(times) < 2:
        return TimeCheck(None, [], None)
    steps = np.diff(times)
    later = series.rows[1:]
    for mask, what in ((steps == 0, "duplicate"), (steps < 0, "out of order")):
        positions = np.flatnonzero(mask)
        log.add(
            later[positions],
            [
                f"{series.symbol} timestamp {_iso(times[p + 1])} is {what} "
                f"(previous row {series.rows[p]} is {_iso(times[p])})"
                for p in positions[:LISTED]
            ],
        )
    positive = steps[steps > 0]
    if not len(positive):
        return TimeCheck(None, [], None)
    spacings, counts = np.unique(positive, return_counts=True)
    interval = int(spacings[int(np.argmax(counts))])
    found = np.flatnonzero(steps > interval)
    calendar = infer_calendar(times, interval) if len(found) else None
    summary = None
    missing: dict[int, int] = {}
    if calendar is not None and calendar.sessions:
        verdict = judge_gaps(calendar, interval, times[found], times[found + 1])
        summary = CalendarGaps(
            series.symbol,
            calendar,
            closed_days=int(verdict.closed_days.sum()),
            holidays=int(verdict.holidays.sum()),
            overnight=int(verdict.overnight.sum()),
            breaks=int(verdict.breaks.sum()),
        )
        if interval == DAY_US:  # a daily bar is missing only on a day the market opens
            missing = dict(zip(found.tolist(), verdict.open_days.tolist(), strict=True))
        found = found[~verdict.calendar]
    gaps = [
        Gap(
            series.symbol,
            int(later[p]),
            int(times[p]),
            int(times[p + 1]),
            missing[p] if p in missing else _missing_bars(int(steps[p]), interval),
        )
        for p in found.tolist()
    ]
    return TimeCheck(interval, gaps, summary)


def _missing_bars(step: int, interval: int) -> int:
    """Whole bars that fit strictly between two bars ``step`` µs apart."""
    return step // interval - (1 if step % interval == 0 else 0)


def _iso(micros: np.integer | int) -> str:
    return from_microseconds(int(micros)).isoformat()


def validate_bars(bars: Sequence[Bar], *, source: str = "bars") -> DataReport:
    """Validate bars from any source (e.g. an exchange) with the same rules as files.

    Rows are 1-based positions in ``bars``; bars of several symbols are checked per symbol.
    """
    by_symbol: dict[str, list[int]] = {}
    for index, bar in enumerate(bars):
        by_symbol.setdefault(bar.symbol, []).append(index)
    log = ProblemLog()
    intervals: dict[str, int | None] = {}
    gaps: list[Gap] = []
    calendar_gaps: list[CalendarGaps] = []
    for symbol, indices in by_symbol.items():
        chosen = [bars[i] for i in indices]
        series = Series(
            symbol,
            np.array(indices, dtype=np.int64) + 1,
            np.array([bar.time_us for bar in chosen], dtype=np.int64),
            {
                name: np.array([float(getattr(bar, name)) for bar in chosen], dtype=np.float64)
                for name in VALUE_COLUMNS
            },
            {
                name: np.array([too_fine(getattr(bar, name)) for bar in chosen], dtype=bool)
                for name in VALUE_COLUMNS
            },
        )
        check_values(series, log, lambda name, row: str(getattr(bars[row - 1], name)))
        checked = check_times(series, log)
        intervals[symbol] = checked.interval_us
        gaps.extend(checked.gaps)
        if checked.calendar_gaps is not None:
            calendar_gaps.append(checked.calendar_gaps)
    return DataReport(
        source=source,
        rows=len(bars),
        timestamp_format="UTC microseconds",
        bars_per_symbol={symbol: len(indices) for symbol, indices in by_symbol.items()},
        interval_us=intervals,
        problems=log.listed(),
        problem_count=log.count,
        gaps=tuple(gaps),
        calendar_gaps=tuple(calendar_gaps),
    )
