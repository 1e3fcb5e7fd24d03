"""Validation: every fatal defect is named with its file row; gaps are reported."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.marketdata import MarketDataError, load_bars, read_bars, validate_bars
from domain.market import Bar

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume\n"


def csv(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    return path


def good(i: int) -> str:
    return f"{T0 + 60 * i},10,11,9,10.5,1"


def error_of(tmp_path: Path, lines: list[str]) -> MarketDataError:
    with pytest.raises(MarketDataError) as caught:
        load_bars(csv(tmp_path, lines))
    return caught.value


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (f"{T0 + 120},10,9.5,9,10.5,1", "row 3: high 9.5 < close 10.5"),
        (f"{T0 + 120},10,11,10.2,10.5,1", "row 3: low 10.2 > open 10"),
        (f"{T0 + 120},NaN,11,9,10.5,1", "row 3: open is NaN"),
        (f"{T0 + 120},10,11,9,,1", "row 3: close is empty"),
        (f"{T0 + 120},10,11,9,abc,1", "row 3: close is not a number: 'abc'"),
        (f"{T0 + 120},10,11,9,inf,1", "row 3: close is infinite (inf)"),
        (f"{T0 + 120},0,11,0,10.5,1", "row 3: open is zero or negative: 0"),
        (f"{T0 + 120},10,11,9,10.5,-2", "row 3: volume is negative: -2"),
        (f"{T0 + 60},10,11,9,10.5,1", "row 3: data timestamp 2024-01-01T00:01:00+00:00 is dup"),
        (f"{T0},10,11,9,10.5,1", "row 3: data timestamp 2024-01-01T00:00:00+00:00 is out of"),
    ],
)
def test_fatal_problem_names_file_row_and_reason(tmp_path: Path, bad: str, reason: str) -> None:
    error = error_of(tmp_path, [good(0), good(1), bad, good(3)])
    assert str(error).startswith(f"{tmp_path / 'data.csv'}: ")
    assert reason.lower() in str(error).lower()
    assert error.report is not None and error.report.problems[0].row == 3


def test_many_problems_show_the_first_few_and_count_the_rest(tmp_path: Path) -> None:
    lines = [f"{T0 + 60 * i},10,11,9,10.5,-1" for i in range(40)]
    error = error_of(tmp_path, lines)
    assert "40 problem(s)" in str(error)
    assert "row 1: volume is negative" in str(error)
    assert "and 35 more problem(s)" in str(error)
    assert "row 6:" not in str(error)


def test_gaps_are_fatal_unless_allowed_and_always_reported(tmp_path: Path) -> None:
    lines = [good(0), good(1), good(2), good(6), good(7)]  # 3 one-minute bars missing
    error = error_of(tmp_path, lines)
    assert "1 gap(s)" in str(error) and "allow_gaps=True" in str(error)
    assert "row 4: 3 bar(s) missing between 2024-01-01T00:02:00" in str(error)
    bars, report = read_bars(csv(tmp_path, lines), allow_gaps=True)
    assert len(bars["DATA"]) == 5
    assert report.interval_us == {"DATA": 60_000_000}
    (gap,) = report.gaps
    assert (gap.row, gap.missing_bars) == (4, 3)


def test_validate_bars_from_any_source() -> None:
    def bar(minute: int, high: str = "11") -> Bar:
        d = Decimal
        return Bar("X", (T0 + 60 * minute) * 10**6, d(10), d(high), d(9), d("10.5"), d(1))

    assert validate_bars([bar(0), bar(1), bar(2)]).ok
    report = validate_bars([bar(0), bar(1, high="10.4"), bar(3)])
    assert [str(p) for p in report.problems] == ["row 2: high 10.4 < close 10.5"]
    assert report.gaps[0].missing_bars == 1
