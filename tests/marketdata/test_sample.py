"""The bundled sample: loads cleanly, is what the seeded generator makes, and has regimes."""

from __future__ import annotations

import itertools

from adapters.marketdata import SAMPLE_CSV, SAMPLE_SYMBOLS, read_bars
from benchmarks.data import sample_table


def test_sample_loads_without_problems_or_gaps() -> None:
    bars, report = read_bars(SAMPLE_CSV)
    assert "SYNTHETIC" in SAMPLE_CSV.name
    assert tuple(bars) == SAMPLE_SYMBOLS
    assert report.ok and not report.gaps
    assert set(report.interval_us.values()) == {300_000_000}
    assert all(len(rows) == 42 * 288 for rows in bars.values())
    assert SAMPLE_CSV.stat().st_size < 2_000_000


def test_sample_is_reproduced_by_the_seeded_generator() -> None:
    """The bundled file is exactly what ``python -m benchmarks.data --sample`` writes."""
    from io import BytesIO

    import pyarrow.csv as pacsv

    sink = BytesIO()
    table = sample_table()
    sink.write((",".join(table.column_names) + "\n").encode())
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    assert sink.getvalue() == SAMPLE_CSV.read_bytes()


def test_sample_trends_and_ranges() -> None:
    """Daily closes move by several percent in both directions: something to trade."""
    bars, _ = read_bars(SAMPLE_CSV)
    for rows in bars.values():
        daily = [float(bar.close) for bar in rows[::288]]
        moves = [b / a - 1 for a, b in itertools.pairwise(daily)]
        assert max(moves) > 0.02 and min(moves) < -0.02
