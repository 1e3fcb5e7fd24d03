"""load_bars on CSV and Parquet: exact decimals, timestamp formats, symbols, clear errors."""

from __future__ import annotations

import gzip
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.marketdata import MarketDataError, load_bars, read_bars
from domain.market import Bar, BarSeries

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z in seconds
HEADER = "timestamp,open,high,low,close,volume\n"


def write(tmp_path: Path, text: str, name: str = "btcusdt.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(count: int, start: int = T0, step: int = 60, price: str = "100.10") -> str:
    return "".join(
        f"{start + i * step},{price},100.30,99.90,100.20,{i + 1}.5\n" for i in range(count)
    )


def test_csv_gives_exact_decimal_bars_named_after_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + rows(3))
    bars = load_bars(path)
    assert list(bars) == ["BTCUSDT"]
    first = bars["BTCUSDT"][0]
    assert first == Bar(
        "BTCUSDT",
        T0 * 1_000_000,
        Decimal("100.10"),
        Decimal("100.30"),
        Decimal("99.90"),
        Decimal("100.20"),
        Decimal("1.5"),
    )
    assert str(first.open) == "100.10"  # from the text, trailing zero kept, no float noise
    assert [b.time_us for b in bars["BTCUSDT"]] == [(T0 + 60 * i) * 1_000_000 for i in range(3)]
    renamed = load_bars(path, symbol="XBT")["XBT"]
    assert list(renamed) == [Bar("XBT", *vars_of(b)) for b in bars["BTCUSDT"]]
    assert isinstance(renamed, BarSeries) and renamed.symbol == "XBT"


def vars_of(bar: Bar) -> tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]:
    return bar.time_us, bar.open, bar.high, bar.low, bar.close, bar.volume


@pytest.mark.parametrize(
    ("stamp", "unit"),
    [
        (str, "seconds"),
        (lambda s: str(s * 1000), "milliseconds"),
        (lambda s: str(s * 1_000_000), "microseconds"),
    ],
)
def test_epoch_units_detected_by_magnitude(tmp_path: Path, stamp, unit: str) -> None:  # type: ignore[no-untyped-def]
    body = "".join(f"{stamp(T0 + 60 * i)},1,2,0.5,1.5,3\n" for i in range(3))
    bars, report = read_bars(write(tmp_path, HEADER + body))
    assert report.timestamp_format == f"epoch {unit} (detected by magnitude)"
    assert bars["BTCUSDT"][2].time_us == (T0 + 120) * 1_000_000


def test_iso_timestamps_with_and_without_zone(tmp_path: Path) -> None:
    zoned = "2024-01-01T08:00:00+08:00,1,2,0.5,1.5,3\n2024-01-01T00:01:00Z,1,2,0.5,1.5,3\n"
    bars, report = read_bars(write(tmp_path, HEADER + zoned))
    assert [b.time_us for b in bars["BTCUSDT"]] == [T0 * 10**6, (T0 + 60) * 10**6]
    assert "zone" in report.timestamp_format
    naive = "2024-01-01 00:00:00,1,2,0.5,1.5,3\n2024-01-01 00:01:00,1,2,0.5,1.5,3\n"
    bars, report = read_bars(write(tmp_path, HEADER + naive, "b.csv"))
    assert bars["B"][1].time_us == (T0 + 60) * 10**6
    assert report.timestamp_format == "ISO 8601 without zone, read as UTC"


def test_multi_symbol_file_splits_and_selects(tmp_path: Path) -> None:
    text = "timestamp,symbol,open,high,low,close,volume\n"
    for i in range(3):
        text += f"{T0 + 60 * i},BTC,10,11,9,10.5,1\n{T0 + 60 * i},ETH,1,1.1,0.9,1.05,2\n"
    path = write(tmp_path, text, "many.csv")
    bars = load_bars(path)
    assert list(bars) == ["BTC", "ETH"]
    assert [b.close for b in bars["ETH"]] == [Decimal("1.05")] * 3
    assert list(load_bars(path, symbol="ETH")) == ["ETH"]
    with pytest.raises(
        MarketDataError, match=r"'SOL' is not in the file; symbols present: BTC, ETH"
    ):
        load_bars(path, symbol="SOL")


def test_case_insensitive_headers_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(("Timestamp,Open,High,Low,Close,Volume\n" + rows(2)).encode()))
    assert len(load_bars(path)["X"]) == 2


def test_parquet_with_float_decimal_and_timestamp_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": pa.array([T0 * 10**6, (T0 + 60) * 10**6], pa.timestamp("us", tz="UTC")),
            "symbol": ["ETHUSDT", "ETHUSDT"],
            "open": pa.array([0.1, 2300.5]),
            "high": pa.array([Decimal("0.30"), Decimal("2301.00")], pa.decimal128(10, 2)),
            "low": pa.array([0.05, 2299.0]),
            "close": pa.array([0.2, 2300.75]),
            "volume": pa.array([5, 7], pa.int64()),
        }
    )
    path = tmp_path / "eth.parquet"
    pq.write_table(table, path)
    bars, report = read_bars(path)
    first, second = bars["ETHUSDT"]
    assert first.open == Decimal("0.1")  # shortest repr of the float, not 0.1000000000000000055
    assert first.high == Decimal("0.30") and second.close == Decimal("2300.75")
    assert second.volume == Decimal(7) and second.time_us == (T0 + 60) * 10**6
    assert report.timestamp_format == "Arrow timestamps (UTC)"


def test_parquet_with_large_string_prices_beside_other_column_types(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": pa.array([T0, T0 + 60], pa.int64()),
            "open": pa.array(["100.5", "101.0"], pa.large_string()),
            "high": pa.array([102.0, 103.25]),
            "low": pa.array(["99.75", "100.50"], pa.string()),
            "close": pa.array(["101.0", "102.00"], pa.large_string()),
            "volume": pa.array([5, 7], pa.int64()),
        }
    )
    path = tmp_path / "mixed.parquet"
    pq.write_table(table, path)
    first, second = load_bars(path)["MIXED"]
    assert (first.open, first.high, first.low, first.close) == (
        Decimal("100.5"),
        Decimal("102.0"),
        Decimal("99.75"),
        Decimal("101.0"),
    )
    assert second.low == Decimal("100.50") and second.close == Decimal("102.00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", r"empty file"),
        (HEADER, r"no data rows"),
        ("timestamp,open,high,low,volume\n1,2,3,1,1\n", r"missing column\(s\) close"),
        (HEADER + rows(1) + "1704067260,1,2\n", r"row 2: expected 6 columns, got 3"),
        (HEADER + rows(2) + "yesterday,1,2,0.5,1.5,3\n", r"row 3: timestamp 'yesterday' is not"),
        (
            "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,3\n"
            "2024-13-01T00:00:00Z,1,2,0.5,1.5,3\n",
            r"row 2: timestamp '2024-13-01T00:00:00Z'",
        ),
        (HEADER + rows(2) + "1704067320000,1,2,0.5,1.5,3\n", r"row 3: .*milliseconds.*mixed"),
        (HEADER + "99999999999999999999999,1,2,0.5,1.5,3\n", r"row 1: .* outside 1900-2200"),
        (
            "timestamp,open,high,low,close,volume,Close\n1,2,3,1,2,1,2\n",
            r"'Close' .* more than once",
        ),
        ("  \n\n", r"empty file"),
        (HEADER + "1704067200,1,2,0.5,1.5,\udcff\n", r"not a readable CSV file: .*UTF8"),
    ],
)
def test_garbled_files_give_specific_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "btcusdt.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(MarketDataError, match=expected):
        load_bars(path)


def test_binary_garbage_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(255, -1, -1)) * 20)
    with pytest.raises(MarketDataError, match=r"noise\.csv: not a text CSV file"):
        load_bars(path)
    path.write_bytes(bytes(range(256)) * 20)  # a first "line" of control characters
    with pytest.raises(MarketDataError, match=r"missing column.*'\\x00\\x01"):
        load_bars(path)


def test_epoch_nanoseconds_are_scaled_exactly(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1704067200123456789,1,2,0.5,1.5,3\n")
    assert load_bars(path)["BTCUSDT"][0].time_us == 1_704_067_200_123_456


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="file not found"):
        load_bars(tmp_path / "absent.csv")
    with pytest.raises(MarketDataError, match="unknown file type"):
        load_bars(write(tmp_path, HEADER, "bars.xlsx"))
    good = tmp_path / "good.parquet"
    pq.write_table(
        pa.table(
            {"timestamp": [T0], "open": [1], "high": [1], "low": [1], "close": [1], "volume": [1]}
        ),
        good,
    )
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MarketDataError, match=r"cut.parquet: not a readable Parquet file"):
        load_bars(truncated)


def test_loading_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas on its first ``to_numpy``, ``pa.array`` or ``pa.scalar``, at a
    fifth of a million-row load's cost; the loader goes through Arrow buffers instead."""
    csv = write(
        tmp_path,
        "timestamp,symbol,open,high,low,close,volume\n"
        + "".join(f"{T0 + 60 * i},BTC,100.10,100.30,99.90,100.{i % 3}0,1.5\n" for i in range(50)),
    )
    table = pa.table(
        {
            "timestamp": pa.array([T0, T0 + 60], pa.int64()),
            "symbol": ["X", "X"],
            **{
                name: pa.array([Decimal("1.50"), Decimal("1.50")], pa.decimal128(9, 2))
                for name in ("open", "high", "low", "close", "volume")
            },
        }
    )
    parquet = tmp_path / "x.parquet"
    pq.write_table(table, parquet)
    script = (
        "import sys\nfrom pathlib import Path\nfrom adapters.marketdata import load_bars\n"
        f"load_bars(Path({str(csv)!r}))\nload_bars(Path({str(parquet)!r}))\n"
        "print('pandas' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]  # ``-c`` puts the working directory on the path
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
