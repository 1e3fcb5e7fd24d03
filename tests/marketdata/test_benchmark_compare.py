"""The benchmark's trade-list comparison: the agreement it reports must be able to fail."""

from __future__ import annotations

from benchmarks.backtest import compare

TRIP = {"entry_us": 60, "entry_price": "100.50", "exit_us": 180, "exit_price": "101.25"}


def test_equal_trips_agree_across_number_formats() -> None:
    theirs = {"entry_us": 60, "entry_price": "100.5", "exit_us": 180, "exit_price": "101.25"}
    assert compare([TRIP, TRIP], [theirs, theirs]) == {
        "identical": True,
        "mismatches": 0,
        "first_mismatch": None,
    }


def test_a_different_exit_and_a_missing_trip_are_counted() -> None:
    late_exit = TRIP | {"exit_us": 240}
    result = compare([TRIP, TRIP, TRIP], [TRIP, late_exit])
    assert result["identical"] is False
    assert result["mismatches"] == 2
    assert result["first_mismatch"] == {
        "index": 1,
        "ours": (60, 100.5, 180, 101.25),
        "backtrader": (60, 100.5, 240, 101.25),
    }
