"""The digest written from fixed-point integers (``digest.fixed_digest``) and float columns
read without their text (``numbers._float_column``) give exactly what the text paths give,
which stay in the loader for every other column: the same digest and the same bars for the
same data as CSV, decimal128, float64 and int64 Parquet, awkward values included."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.marketdata import MarketDataError, digest, load_bars, loader, numbers
from adapters.marketdata.columnar import ColumnarBars, FixedPointColumn, MixedPointColumn
from domain.market import BarSeries, bars_digest

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z in seconds
VALUES = ("open", "high", "low", "close", "volume")


def texts_of(integers: np.ndarray, places: int | np.ndarray) -> pa.ChunkedArray:
    """``str`` of each ``Decimal(integer).scaleb(-places)``: what the digest must hold."""
    each = [places] * len(integers) if isinstance(places, int) else places.tolist()
    return pa.chunked_array(
        [
            pa.array(
                [
                    str(Decimal(int(n)).scaleb(-p))
                    for n, p in zip(integers.tolist(), each, strict=True)
                ]
            )
        ]
    )


@st.composite
def scaled_columns(draw: st.DrawFn) -> tuple[np.ndarray, int | np.ndarray]:
    """Non-negative integers below 2**53 with one number of places or one per row (0-18)."""
    count = draw(st.integers(1, 40))
    largest = draw(st.sampled_from([9, 99, 10**4, 10**7, 10**12, 2**53 - 1]))
    integers = np.array(draw(st.lists(st.integers(0, largest), min_size=count, max_size=count)))
    if draw(st.booleans()):
        return integers, draw(st.integers(0, 18))
    row_places = st.lists(st.integers(0, draw(st.integers(0, 18))), min_size=count, max_size=count)
    return integers, np.array(draw(row_places), dtype=np.int8)


@settings(max_examples=300, deadline=None)
@given(st.lists(scaled_columns(), min_size=5, max_size=5), st.sampled_from(["BTC", "É-1", "X"]))
def test_fixed_digest_is_the_digest_of_str_of_each_decimal(
    columns: list[tuple[np.ndarray, int | np.ndarray]], symbol: str
) -> None:
    count = min(len(integers) for integers, _ in columns)
    cut = [(i[:count], p if isinstance(p, int) else p[:count]) for i, p in columns]
    times = np.sort(np.random.default_rng(count).integers(0, 4 * 10**15, count))
    fast = digest.fixed_digest(symbol, times, cut)
    if any(numbers.exponent_form(*column) for column in cut):
        assert fast is None  # "1E-7", "0E-8": left to the text path
        return
    assert fast == digest.columns_digest(symbol, times, [texts_of(*column) for column in cut])


def test_fixed_digest_in_chunks_of_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines written a few rows at a time, with short, long and mixed texts across chunks."""
    rng = np.random.default_rng(7)
    times = np.arange(1000, dtype=np.int64) * 60_000_000 + 999_999_000_000
    columns: list[tuple[np.ndarray, int | np.ndarray]] = [
        (rng.integers(0, 10 ** rng.integers(1, 15, 1000)), 2),
        (rng.integers(0, 10**6, 1000), 0),
        (rng.integers(0, 10**9, 1000), rng.integers(0, 7, 1000).astype(np.int8)),
        (np.zeros(1000, dtype=np.int64), 6),
        (rng.integers(10**15, 2**53, 1000), 18),
    ]
    expected = digest.columns_digest("S", times, [texts_of(*column) for column in columns])
    for rows in (1, 3, 64, 999, 1 << 14):
        monkeypatch.setattr(digest, "LINE_ROWS", rows)
        assert digest.fixed_digest("S", times, columns) == expected


def test_negative_times_are_left_to_the_text_path() -> None:
    times = np.array([-60_000_000, 0], dtype=np.int64)
    columns = [(np.array([1, 2]), 0)] * 5
    assert digest.fixed_digest("S", times, columns) is None


# --- float64 columns without their text ------------------------------------------------------

floats = st.one_of(
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.builds(
        lambda coefficient, exponent: float(Decimal(coefficient).scaleb(exponent)),
        st.integers(0, 10**16),
        st.integers(-20, 4),
    ),
    st.sampled_from([0.0, 1e-6, 1e-7, 9999999999.0, 1e10, 0.1 + 0.2, 2.0**53, 5e-324, 42000.0]),
)


def read_through_text(column: pa.ChunkedArray) -> numbers.NumericColumn:
    """The loader's text path for a float column: its shortest texts (what it used to be)."""
    return numbers.numeric_column(pc.cast(column, pa.string()))


@settings(max_examples=400, deadline=None)
@given(st.lists(floats, min_size=1, max_size=30))
def test_float_columns_read_as_their_shortest_texts(values: list[float]) -> None:
    column = pa.chunked_array([pa.array(values, pa.float64())])
    fast = numbers._float_column(column)
    slow = read_through_text(column)
    if fast is None:
        return  # the loader takes the text path itself
    assert np.array_equal(fast.values, slow.values)
    assert not fast.unparsable.any() and not slow.unparsable.any()
    assert np.array_equal(fast.too_fine, slow.too_fine)
    fixed, expected = numbers.fixed_point(fast, None), numbers.fixed_point(slow, None)
    assert fixed is not None and expected is not None
    assert np.array_equal(fixed[0], expected[0])
    assert np.array_equal(np.asarray(fixed[1]), np.asarray(expected[1]))
    assert type(fixed[1]) is type(expected[1])
    assert [fast.text_at(row) for row in range(len(values))] == slow.text.to_pylist()


def test_which_float_columns_take_the_fast_path() -> None:
    def fast(*values: float) -> bool:
        return numbers._float_column(pa.chunked_array([pa.array(values)])) is not None

    assert fast(42000.0, 41996.46, 0.05, 0.000001, 9999999999.0, 0.0, 123.456789012)
    assert not fast(1e-7)  # "1e-7"
    assert not fast(1e10)  # "1e+10"
    assert not fast(0.1 + 0.2)  # 17 significant digits: beyond 10**15 at 17 places
    assert not fast(1.5, -1.5) and not fast(-0.0) and not fast(1.0, float("nan"))
    assert not fast(1.0, float("inf"))


# --- the same data in every format -----------------------------------------------------------

# Awkward values: trailing zeros, many places, large values, zeros, values below 1.
OPENS = ["42000.00", "0.00012300", "9999999.99", "100.10", "1.50", "0.000001", "7"]
CLOSES = ["42000.50", "0.00012345", "9999999.90", "100.00", "1.5", "0.000010", "7.25"]
VOLUMES = ["0", "12.345678901", "0.000000", "1000000.5", "3.100", "0.5", "250"]


def frames() -> dict[str, list[str]]:
    """Texts per column, high/low bounding open/close (exact comparisons of Decimals)."""
    high = [max(o, c, key=Decimal) for o, c in zip(OPENS, CLOSES, strict=True)]
    low = [min(o, c, key=Decimal) for o, c in zip(OPENS, CLOSES, strict=True)]
    return {"open": OPENS, "high": high, "low": low, "close": CLOSES, "volume": VOLUMES}


def write_copies(tmp_path: Path) -> dict[str, Path]:
    """The frame as CSV, decimal128 (each column's most places) and float64 Parquet, and its
    whole numbers as int64 Parquet."""
    texts = frames()
    stamps = [T0 + 60 * row for row in range(len(OPENS))]
    csv = tmp_path / "awk.csv"
    lines = [
        f"{stamp},{','.join(texts[n][row] for n in VALUES)}" for row, stamp in enumerate(stamps)
    ]
    csv.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(lines) + "\n")
    paths = {"csv": csv}
    kinds: dict[str, dict[str, pa.Array]] = {"decimal": {}, "float": {}, "integer": {}}
    for name in VALUES:
        decimals = [Decimal(text) for text in texts[name]]
        places = max(-int(d.as_tuple().exponent) for d in decimals)
        quantum = Decimal(1).scaleb(-places)
        kinds["decimal"][name] = pa.array(
            [d.quantize(quantum) for d in decimals], pa.decimal128(18, places)
        )
        kinds["float"][name] = pa.array([float(d) for d in decimals], pa.float64())
        # whole numbers (a file of prices in cents): one more than each value's integer part
        kinds["integer"][name] = pa.array([int(d) + 1 for d in decimals], pa.int64())
    for kind, columns in kinds.items():
        path = tmp_path / f"awk.{kind}.parquet"
        table = pa.table({"timestamp": pa.array(stamps, pa.int64()), **columns})
        pq.write_table(table, path)
        paths[kind] = path
    return paths


def load_both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[BarSeries, BarSeries]:
    """``path`` loaded as now, and through the text paths alone (as before the fast paths)."""
    fast = load_bars(path)["AWK"]
    with monkeypatch.context() as patched:
        patched.setattr(loader, "fixed_digest", lambda *_: None)
        patched.setattr(numbers, "_float_column", lambda _: None)
        slow = load_bars(path)["AWK"]
    return fast, slow


def test_every_format_gives_the_bars_and_digest_of_the_text_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = {}
    for kind, path in write_copies(tmp_path).items():
        fast, slow = load_both_ways(path, monkeypatch)
        assert list(fast) == list(slow), kind
        assert [str(bar.close) for bar in fast] == [str(bar.close) for bar in slow], kind
        assert fast.digest == slow.digest == bars_digest("AWK", list(fast)), kind
        loaded[kind] = fast
    # the CSV's texts, exactly: trailing zeros and places kept
    assert [str(bar.close) for bar in loaded["csv"]] == CLOSES
    assert [str(bar.volume) for bar in loaded["csv"]] == VOLUMES
    # a float's Decimal is its shortest text: 42000.50 is 42000.5, 0.000010 is 0.00001
    assert [str(bar.close) for bar in loaded["float"]] == [
        "42000.5",
        "0.00012345",
        "9999999.9",
        "100",
        "1.5",
        "0.00001",
        "7.25",
    ]
    # decimal128 and int64 hold each column at its most places: one digest for both layouts
    assert loaded["decimal"].digest != loaded["csv"].digest
    assert [bar.close for bar in loaded["decimal"]] == [bar.close for bar in loaded["csv"]]
    float_source, decimal_source = loaded["float"].source, loaded["decimal"].source
    assert isinstance(float_source, ColumnarBars) and isinstance(decimal_source, ColumnarBars)
    assert any(isinstance(column, MixedPointColumn) for column in float_source.columns)
    assert all(isinstance(column, FixedPointColumn) for column in decimal_source.columns)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_float_files_refuse_what_they_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: float
) -> None:
    path = tmp_path / "awk.parquet"
    closes = [100.0, bad, 101.5]
    table = {"timestamp": pa.array([T0, T0 + 60, T0 + 120], pa.int64())}
    for name in VALUES:
        table[name] = pa.array(closes if name == "close" else [100.0, 100.0, 101.5])
    pq.write_table(pa.table(table), path)
    with pytest.raises(MarketDataError) as fast:
        load_bars(path)
    with monkeypatch.context() as patched:
        patched.setattr(numbers, "_float_column", lambda _: None)
        with pytest.raises(MarketDataError) as slow:
            load_bars(path)
    assert str(fast.value) == str(slow.value)
    assert "row 2" in str(fast.value)


def test_messages_quote_a_float_as_its_shortest_text(tmp_path: Path) -> None:
    """high below low: the message shows ``99`` and ``100.5`` as the file's floats read."""
    path = tmp_path / "awk.parquet"
    table = {"timestamp": pa.array([T0, T0 + 60], pa.int64())}
    for name, values in zip(
        VALUES,
        ([100.5, 100.5], [101.0, 99.0], [100.0, 100.5], [100.5, 100.5], [1.0, 1.0]),
        strict=True,
    ):
        table[name] = pa.array(values)
    pq.write_table(pa.table(table), path)
    with pytest.raises(MarketDataError, match=r"row 2.*99\b") as error:
        load_bars(path)
    assert "99.0" not in str(error.value)
