"""Bars kept in columns: the loader stores a column whose texts are plain decimals as scaled
integers (one number of places, or one per row), and a Parquet decimal or integer column as
its own integers; the Decimals it builds from them are the very Decimals of the texts (same
value, same exponent, same ``str``), with the same digest as the documented lines; texts it
cannot store that way keep their own Decimals through a table of distinct texts."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.marketdata import load_bars
from adapters.marketdata.columnar import (
    ColumnarBars,
    FixedPointColumn,
    MixedPointColumn,
    TextColumn,
)
from domain.market import Bar, BarSeries, bars_digest, build_column_bars
from tests.marketdata.test_digest import HEADER, T0, expected_lines, sha256_of


def written(whole: int, fraction: str, style: str) -> str:
    """One number text with exactly ``len(fraction)`` decimal places, in an awkward style."""
    body = f"{whole}.{fraction}" if fraction else str(whole)
    if style == "plus":
        return "+" + body
    if style == "zeros":
        return "00" + body
    if style == "bare" and fraction and whole == 0:
        return "." + fraction
    return body


styles = st.sampled_from(["plain", "plain", "plus", "zeros", "bare"])


@st.composite
def fixed_columns(draw: st.DrawFn) -> list[list[str]]:
    """Five columns (open, high, low, close, volume), each with its own number of decimal
    places and awkward texts; the four prices of a row are one value (a valid bar), the
    volume another that may be zero or tiny (``str`` writes those in exponent form)."""
    count = draw(st.integers(1, 20))
    price_places = draw(st.lists(st.integers(0, 12), min_size=4, max_size=4))
    volume_places = draw(st.integers(0, 12))
    shared = min(price_places)
    columns: list[list[str]] = [[] for _ in range(5)]
    for _ in range(count):
        whole = draw(st.sampled_from([1, 7, 42_000, 10**8]))
        digits = draw(st.text("0123456789", min_size=shared, max_size=shared))
        for column, places in zip(columns[:4], price_places, strict=True):
            padded = digits + "0" * (places - shared)
            column.append(written(whole, padded, draw(styles)))
        volume_whole = draw(st.sampled_from([0, 0, 3, 1_000]))
        volume_digits = draw(st.text("0123456789", min_size=volume_places, max_size=volume_places))
        columns[4].append(written(volume_whole, volume_digits, draw(styles)))
    return columns


def loaded_from(columns: list[list[str]], work: Path) -> BarSeries:
    path = work / "bars.csv"
    lines = [
        f"{T0 + 60 * row},X,{','.join(column[row] for column in columns)}\n"
        for row in range(len(columns[0]))
    ]
    path.write_text(HEADER + "".join(lines))
    series = load_bars(path)["X"]
    assert series.digest == sha256_of(expected_lines("X", lines))
    assert series.digest == bars_digest("X", list(series))
    return series


def same_decimal(built: Decimal, text: str) -> bool:
    return built.as_tuple() == Decimal(text).as_tuple() and str(built) == str(Decimal(text))


def assert_each_decimal_is_its_texts(columns: list[list[str]]) -> None:
    """Load ``columns`` as bars; each value read back is the Decimal of its text."""
    with tempfile.TemporaryDirectory() as work:
        series = loaded_from(columns, Path(work))
    for row, bar in enumerate(series):
        values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        for value, column in zip(values, columns, strict=True):
            assert same_decimal(value, column[row]), (value, column[row])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fixed_columns())
def test_each_built_decimal_is_the_decimal_of_its_text(columns: list[list[str]]) -> None:
    assert_each_decimal_is_its_texts(columns)


def test_uniform_places_are_scaled_integers_and_the_rest_distinct_texts(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{T0},1.50,2.00,1.00,1.25,5\n"
        f"{T0 + 60},1.25,2.50,1.00,2.00,1e3\n"
        f"{T0 + 120},2.00,2.00,1.75,1.80,0.5\n"
    )
    series = load_bars(path)["BARS"]
    source = series.source
    assert isinstance(source, ColumnarBars)
    kinds = [type(column) for column in source.columns]
    assert kinds == [FixedPointColumn] * 4 + [TextColumn]
    assert [str(bar.close) for bar in series] == ["1.25", "2.00", "1.80"]
    assert [bar.volume for bar in series] == [Decimal(5), Decimal("1e3"), Decimal("0.5")]
    assert str(series[1].volume) == "1E+3"


def test_a_columnar_series_reads_like_a_tuple_and_pickles_as_columns(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    rows = "".join(
        f"{T0 + 60 * i},{100 + i}.5,{102 + i}.5,{99 + i}.5,{101 + i}.5,1\n" for i in range(9000)
    )
    path.write_text("timestamp,open,high,low,close,volume\n" + rows)
    series = load_bars(path)["BARS"]
    bars = list(series)
    assert len(series) == len(bars) == 9000 and bars[0].time_us == T0 * 10**6
    assert series[-1] == bars[-1] and series[4096] == bars[4096]
    assert series[10:20] == tuple(bars[10:20]) and type(series[10:20]) is tuple
    assert series == tuple(bars) and series == BarSeries("BARS", bars)
    assert np.array_equal(series.open_times(), [bar.time_us for bar in bars])
    copy = pickle.loads(pickle.dumps(series))
    assert isinstance(copy.source, ColumnarBars) and copy.digest == series.digest
    assert list(copy) == bars
    assert all(isinstance(bar, Bar) for bar in copy[:3])


def test_texts_with_spaces_around_them_are_trimmed_as_before(tmp_path: Path) -> None:
    """Columns are copied trimmed only when a text starts or ends with whitespace (or a
    non-ASCII byte, such as a no-break space); either way the numbers are the same."""
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,open,high,low,close,volume\n"
        f"{T0}, 1.50,2.00\t,1.00,1.25,\u00a05\n"
        f"{T0 + 60},1.25,2.50,1.00,2.00,7\n",
        encoding="utf-8",
    )
    bars = list(load_bars(path)["BARS"])
    assert [(str(bar.open), str(bar.high), str(bar.volume)) for bar in bars] == [
        ("1.50", "2.00", "5"),
        ("1.25", "2.50", "7"),
    ]


def test_an_open_equal_to_the_previous_close_is_that_close_across_chunks(tmp_path: Path) -> None:
    """Bars are built 4,096 at a time and an open equal to the previous close reuses its
    Decimal; every value is still the Decimal of its own text, on both sides of a chunk edge."""
    closes = [f"{100 + (i * 37) % 50}.{i % 100:02d}" for i in range(9_000)]
    opens = ["100.00", *[close if i % 7 else "150.00" for i, close in enumerate(closes[:-1])]]
    lines = [
        f"{T0 + 60 * i},{o},{max(o, c, key=Decimal)},{min(o, c, key=Decimal)},{c},1\n"
        for i, (o, c) in enumerate(zip(opens, closes, strict=True))
    ]
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(lines))
    bars = list(load_bars(path)["BARS"])
    assert [bar.open.as_tuple() for bar in bars] == [Decimal(o).as_tuple() for o in opens]
    assert [bar.close.as_tuple() for bar in bars] == [Decimal(c).as_tuple() for c in closes]
    assert bars[4_098].open is bars[4_097].close  # shared within a chunk, equal across one


def test_column_bars_are_ordinary_frozen_bars() -> None:
    """``build_column_bars`` skips the dataclass ``__init__`` and reads open, high, low and
    volume when asked: its bars must still equal, hash, repr, pickle, copy and refuse changes
    exactly as ``Bar(...)`` does."""
    one, two = Decimal("1.10"), Decimal("2")
    times = [0, 60_000_000, 120_000_000]

    class Columns:
        asked: list[int] = []

        def column(self, number: int) -> list[Decimal]:
            self.asked.append(number)
            return [one if number in (0, 2, 4) else two] * 3

    columns = Columns()
    built = build_column_bars("BTC", times, [two] * 3, columns)
    assert columns.asked == []
    expected = [Bar("BTC", time_us, one, two, one, two, one) for time_us in times]
    assert built == expected and expected == built
    assert [repr(bar) for bar in built] == [repr(bar) for bar in expected]
    assert [hash(bar) for bar in built] == [hash(bar) for bar in expected]
    assert pickle.loads(pickle.dumps(built)) == expected
    assert type(pickle.loads(pickle.dumps(built[0]))) is Bar
    assert copy.copy(built[1]) == expected[1]
    assert dataclasses.replace(built[0], symbol="ETH") == Bar("ETH", 0, one, two, one, two, one)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].close = Decimal(0)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        built[0].open = Decimal(0)  # type: ignore[misc]
    with pytest.raises(ValueError, match="zip"):
        build_column_bars("BTC", [0], [], columns)


@st.composite
def mixed_columns(draw: st.DrawFn) -> list[list[str]]:
    """Five columns whose rows each have their own number of decimal places (as a float
    column's shortest texts do); the four prices of a row are one value."""
    count = draw(st.integers(2, 20))
    columns: list[list[str]] = [[] for _ in range(5)]
    for _ in range(count):
        whole = draw(st.sampled_from([1, 7, 42_000, 10**8]))
        places = draw(st.integers(0, 8))
        digits = draw(st.text("0123456789", min_size=places, max_size=places))
        for column in columns[:4]:
            column.append(written(whole, digits, draw(styles)))
        volume_places = draw(st.integers(0, 12))
        volume_digits = draw(st.text("0123456789", min_size=volume_places, max_size=volume_places))
        columns[4].append(written(draw(st.sampled_from([0, 3, 1_000])), volume_digits, "plain"))
    return columns


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_columns())
def test_rows_with_their_own_places_build_the_decimals_of_their_texts(
    columns: list[list[str]],
) -> None:
    assert_each_decimal_is_its_texts(columns)


def test_a_float_column_is_kept_as_integers_with_each_rows_places(tmp_path: Path) -> None:
    """A float's Decimal is that of its shortest text (``42000``, ``41996.46``): the places
    differ from row to row, and the integers keep them exactly."""
    floats = [42000.0, 41996.46, 41987.4, 0.1, 123.456]
    table = pa.table(
        {
            "timestamp": pa.array([T0 + 60 * i for i in range(5)], pa.int64()),
            **{name: pa.array(floats) for name in ("open", "high", "low", "close", "volume")},
        }
    )
    path = tmp_path / "floats.parquet"
    pq.write_table(table, path)
    series = load_bars(path)["FLOATS"]
    assert isinstance(series.source, ColumnarBars)
    assert [type(column) for column in series.source.columns] == [MixedPointColumn] * 5
    texts = pc.cast(pa.array(floats), pa.string()).to_pylist()
    assert texts[0] == "42000"
    assert [bar.close.as_tuple() for bar in series] == [Decimal(t).as_tuple() for t in texts]
    assert series.digest == bars_digest("FLOATS", list(series))


@st.composite
def exact_parquet_columns(draw: st.DrawFn) -> tuple[int, list[int], list[int]]:
    """Decimal places, and rows of prices and volumes as integers scaled by them (tiny
    volumes and zeros that ``str`` writes in exponent form included)."""
    places = draw(st.integers(0, 18))
    count = draw(st.integers(1, 12))
    largest = min(10**15, 10 ** (10 + places) - 1)  # prices are below 10^10
    prices = draw(st.lists(st.integers(1, largest), min_size=count, max_size=count))
    volumes = draw(
        st.lists(st.sampled_from([0, 1, 7, 10**6, 10**14]), min_size=count, max_size=count)
    )
    return places, prices, volumes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exact_parquet_columns(), st.sampled_from(["decimal", "integer"]))
def test_parquet_decimal_and_integer_columns_are_read_as_their_integers(
    columns: tuple[int, list[int], list[int]], kind: str
) -> None:
    """Decimal and integer columns go to scaled integers without a text: every Decimal built
    is the column's own Decimal, and the digest is the documented one (``str`` of each)."""
    places, prices, volumes = columns
    if kind == "integer":  # whole numbers, prices still below 10^10
        places, prices = 0, [price % (10**10 - 1) + 1 for price in prices]
    quantum = Decimal(1).scaleb(-places)
    exact = {
        "price": [Decimal(value) * quantum for value in prices],
        "volume": [Decimal(value) * quantum for value in volumes],
    }
    kind_of = pa.decimal128(18, places) if kind == "decimal" else pa.int64()
    values = {
        name: pa.array(decimals if kind == "decimal" else [int(d) for d in decimals], kind_of)
        for name, decimals in exact.items()
    }
    count = len(prices)
    table = pa.table(
        {
            "timestamp": pa.array([T0 + 60 * i for i in range(count)], pa.int64()),
            **dict.fromkeys(("open", "high", "low", "close"), values["price"]),
            "volume": values["volume"],
        }
    )
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "x.parquet"
        pq.write_table(table, path)
        series = load_bars(path)["X"]
    assert isinstance(series.source, ColumnarBars)
    assert [type(column) for column in series.source.columns] == [FixedPointColumn] * 5
    for bar, price, volume in zip(series, exact["price"], exact["volume"], strict=True):
        assert bar.close.as_tuple() == price.as_tuple() and str(bar.open) == str(price)
        assert bar.volume.as_tuple() == volume.as_tuple()
    lines = "".join(
        f"X,{(T0 + 60 * i) * 10**6},{p},{p},{p},{p},{v}\n"
        for i, (p, v) in enumerate(zip(exact["price"], exact["volume"], strict=True))
    )
    assert series.digest == sha256_of(lines) == bars_digest("X", list(series))
