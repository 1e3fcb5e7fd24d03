"""Bar prices and volumes beyond what may be recorded (``domain.values``) are refused with the
file, the row and the bound named, from files and from any other source alike."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.marketdata import MarketDataError, load_bars, validate_bars
from domain.market import Bar

T0 = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume\n"
PRICE_BOUND = "a price must be finite and below 10^10 in size"


def _load(tmp_path: Path, bad: str, suffix: str = "csv") -> MarketDataError:
    lines = [f"{T0},10,11,9,10.5,1", f"{T0 + 60},10,11,9,10.5,1", bad]
    path = tmp_path / f"data.{suffix}"
    path.write_text(HEADER + "".join(line + "\n" for line in lines))
    with pytest.raises(MarketDataError) as caught:
        load_bars(path)
    assert str(caught.value).startswith(f"{path}: ")
    return caught.value


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (f"{T0 + 120},1e23,1e23,9,10.5,1", f"row 3: open 1e23 is out of bounds: {PRICE_BOUND}"),
        (f"{T0 + 120},10,10000000000,9,10.5,1", "row 3: high 10000000000 is out of bounds"),
        (f"{T0 + 120},10,11,9,10.5,1e15", "row 3: volume 1e15 is out of bounds: a bar volume"),
        (
            f"{T0 + 120},10,11,9,10.0000000000000000001,1",
            "row 3: close 10.0000000000000000001 is out of bounds: it has more than 18 decimal",
        ),
        (f"{T0 + 120},10,11,9,10,1.5e-19", "row 3: volume 1.5e-19 is out of bounds: it has more"),
        (
            f"{T0 + 120},10,11,9,10,12345678901.123456789012345678",
            "row 3: volume 12345678901.123456789012345678 is out of bounds: a bar volume must be "
            "finite and below 10^15 in size and have at most 18 decimal places and 28 significant",
        ),
        (f"{T0 + 120},NaN,11,9,10.5,1", "row 3: open is NaN"),
        (f"{T0 + 120},10,inf,9,10.5,1", "row 3: high is infinite"),
    ],
)
def test_a_value_beyond_the_bounds_names_file_row_and_bound(
    tmp_path: Path, bad: str, reason: str
) -> None:
    error = _load(tmp_path, bad)
    assert reason in str(error)
    assert error.report is not None and error.report.problems[0].row == 3


def test_values_at_the_edge_of_the_bounds_load_exactly(tmp_path: Path) -> None:
    largest = "9999999999.999999999999999999"
    path = tmp_path / "edge.csv"
    path.write_text(
        HEADER
        + f"{T0},{largest},{largest},0.000000000000000001,1e-18,999999999999999.999\n"
        + f"{T0 + 60},1.5E+3,1.5E+3,1.5E+3,1.5E+3,0\n"
    )
    [series] = load_bars(path).values()
    first, second = series
    assert (first.open, first.low, first.volume) == (
        Decimal(largest),
        Decimal("1E-18"),
        Decimal("999999999999999.999"),
    )
    assert second.close == Decimal(1500)


def test_bars_from_any_source_are_bounded_too() -> None:
    big = Decimal("1E+10")
    bars = [
        Bar("X", T0 * 1_000_000, Decimal(10), Decimal(11), Decimal(9), Decimal(10), Decimal(1)),
        Bar("X", (T0 + 60) * 1_000_000, big, big, Decimal(9), Decimal(10), Decimal("1E-19")),
    ]
    report = validate_bars(bars, source="exchange")
    reasons = [str(problem) for problem in report.problems]
    assert f"row 2: open 1E+10 is out of bounds: {PRICE_BOUND}" in reasons[0]
    assert any("volume 1E-19 is out of bounds: it has more than 18" in r for r in reasons)
