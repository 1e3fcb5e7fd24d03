"""The digest the loader computes from Arrow columns is byte for byte ``bars_digest`` of the
bars it built, for any valid file: awkward number texts (``+1``, ``.5``, ``1.``, exponents,
tiny and huge values), several symbols, Parquet floats and decimals. Also: the regular
expression that lets the loader skip ``str(Decimal)`` is exactly right on plain texts."""

from __future__ import annotations

import hashlib
import itertools
import tempfile
from decimal import Context, Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.marketdata import digest, load_bars
from adapters.marketdata.numbers import CANONICAL
from adapters.marketdata.sample import SAMPLE_CSV
from domain.market import BarSeries, bars_digest

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z in seconds
HEADER = "timestamp,symbol,open,high,low,close,volume\n"


def matches_canonical(texts: list[str]) -> list[bool]:
    """The loader's check, through the same engine (Arrow's RE2), not Python's ``re``."""
    return [bool(ok) for ok in pc.match_substring_regex(pa.array(texts), CANONICAL).to_pylist()]


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_own_str(text: str) -> bool:
    return str(Decimal(text)) == text


def assert_regex_exact(texts: list[str]) -> None:
    """A match means ``str`` gives the text back; for texts without an exponent, so does the
    converse (exponent forms are left to the slow path, which is always right)."""
    for text, matched in zip(texts, matches_canonical(texts), strict=True):
        if matched:
            assert is_own_str(text), text
        elif "e" not in text.lower():
            assert not is_own_str(text), text


def parses(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def test_canonical_regex_on_targeted_texts() -> None:
    plain = ["1", "-1", "0", "-0", "10.50", "0.000001", "0.0000010", "0.000000", "-0.000000"]
    plain += ["123456789012345678901234567890.000", "7.0", "0.1000000000"]
    # ``str`` writes these differently, or (1E+3) in exponent form, left to the slow path.
    other = ["+1", ".5", "1.", "007", "00", "-00.5", "1e3", "1E+3", "1E3", "0.0000001"]
    other += ["0.0000000", "0.00000010", " 1", "1 ", "+0", "-.5", "0e0", "1_000"]
    assert matches_canonical(plain) == [True] * len(plain)
    assert matches_canonical(other) == [False] * len(other)
    assert_regex_exact(plain + other)


def test_canonical_regex_on_every_short_text() -> None:
    """Every number text of up to six characters from ``0 1 9 . - e``, exhaustively."""
    candidates = itertools.chain.from_iterable(
        itertools.product("019.-e", repeat=length) for length in range(1, 7)
    )
    texts = [text for text in map("".join, candidates) if parses(text)]
    assert len(texts) > 1_000
    assert_regex_exact(texts)


digits = st.text("0123456789", min_size=1, max_size=12)
number_texts = st.builds(
    lambda sign, whole, point, fraction, exponent: f"{sign}{whole}{point}{fraction}{exponent}",
    st.sampled_from(["", "-", "+"]),
    st.one_of(digits, st.just("")),
    st.sampled_from([".", ""]),
    st.one_of(digits, st.just("")),
    st.one_of(st.just(""), st.builds("e{}{}".format, st.sampled_from(["", "+", "-"]), digits)),
).filter(lambda text: any(c.isdigit() for c in text.split("e")[0]))


@given(st.lists(number_texts, min_size=1, max_size=50))
def test_canonical_regex_on_generated_texts(texts: list[str]) -> None:
    assert_regex_exact([text for text in texts if parses(text)])


# --- loaded digest == slow digest -------------------------------------------------------------

# A positive value as coefficient * 10**exponent: 1e-12 to 1e9, up to 12 significant digits
# (within the bounds of what may be recorded: prices below 1e10, domain.values).
values = st.builds(
    lambda coefficient, exponent: Decimal(coefficient).scaleb(exponent),
    st.integers(1, 10**12),
    st.integers(-12, -3),
)


def renderings(value: Decimal) -> list[str]:
    """Texts of ``value`` a file may hold; all read back as the same number."""
    plain = format(value, "f")
    sign, coefficient, exponent = value.as_tuple()
    assert isinstance(exponent, int) and not sign
    texts = [
        str(value),
        plain,
        "+" + plain,
        "00" + plain,
        plain + ("000" if "." in plain else ".000"),
        format(value, "e"),
        format(value, "E"),
        f"{''.join(map(str, coefficient))}E{exponent}",
    ]
    if plain.startswith("0."):
        texts.append(plain[1:])
    if "." not in plain:
        texts.append(plain + ".")
    return texts


@st.composite
def bar_rows(draw: st.DrawFn) -> list[str]:
    """open, high, low, close, volume texts: high/low bound open/close, volume may be 0."""
    low, first, second, high = sorted(draw(st.lists(values, min_size=4, max_size=4)))
    open_, close = draw(st.permutations([first, second]))
    volume = draw(st.one_of(values, st.just(Decimal("0.0000000")), st.just(Decimal(0))))
    return [draw(st.sampled_from(renderings(v))) for v in (open_, high, low, close, volume)]


@st.composite
def bar_files(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(symbols, CSV lines); each symbol's rows are in time order, one minute apart."""
    symbols = draw(st.lists(st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1, unique=True))
    count = draw(st.integers(1, 30))
    lines = [
        f"{T0 + 60 * minute},{symbol},{','.join(draw(bar_rows()))}\n"
        for minute in range(count)
        for symbol in symbols
    ]
    if draw(st.booleans()):  # one symbol after another instead of interleaved
        lines.sort(key=lambda line: line.split(",")[1])
    return symbols, lines


def loaded_with_slow_digests(path: Path, symbols: list[str]) -> dict[str, BarSeries]:
    """``load_bars(path)``, each series' digest checked against ``bars_digest`` of a list."""
    loaded = load_bars(path)
    assert sorted(loaded) == sorted(symbols)
    for symbol, rows in loaded.items():
        assert isinstance(rows, BarSeries) and rows.symbol == symbol
        assert rows.digest == bars_digest(symbol, list(rows))
    return loaded


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bar_files())
def test_csv_digest_is_the_slow_digest(file: tuple[list[str], list[str]]) -> None:
    symbols, lines = file
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "bars.csv"
        path.write_text(HEADER + "".join(lines))
        loaded = loaded_with_slow_digests(path, symbols)
    for symbol in symbols:
        assert loaded[symbol].digest == sha256_of(expected_lines(symbol, lines))


def expected_lines(symbol: str, lines: list[str]) -> str:
    """The documented lines of ``symbol``'s rows, straight from the file's texts."""
    out = []
    for line in lines:
        stamp, name, *texts = line.rstrip("\n").split(",")
        if name == symbol:
            numbers = ",".join(str(Decimal(text)) for text in texts)
            out.append(f"{symbol},{int(stamp) * 10**6},{numbers}\n")
    return "".join(out)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bar_files(), st.sampled_from(["float", "decimal", "string"]))
def test_parquet_digest_is_the_slow_digest(file: tuple[list[str], list[str]], kind: str) -> None:
    symbols, lines = file
    rows = [line.rstrip("\n").split(",") for line in lines]
    columns: dict[str, pa.Array] = {
        "timestamp": pa.array([int(row[0]) for row in rows], pa.int64()),
        "symbol": pa.array([row[1] for row in rows]),
    }
    for position, name in enumerate(("open", "high", "low", "close", "volume"), start=2):
        texts = [row[position] for row in rows]
        if kind == "float":
            columns[name] = pa.array([float(text) for text in texts], pa.float64())
        elif kind == "decimal":
            wide = Context(prec=38)  # up to 1e18 with 12 places: more than the default 28 digits
            exact = [Decimal(text).quantize(Decimal("1e-12"), context=wide) for text in texts]
            columns[name] = pa.array(exact, pa.decimal128(38, 12))
        else:
            columns[name] = pa.array(texts, pa.string())
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "bars.parquet"
        pq.write_table(pa.table(columns), path)
        loaded_with_slow_digests(path, symbols)


def test_awkward_texts_are_rewritten_as_str_writes_them(tmp_path: Path) -> None:
    """Each row has a text ``str`` writes differently; the digest still matches, and it is
    not the digest of the raw texts (so the rewriting is what makes it match)."""
    awkward = ["+1", ".5", "1.", "007", "1e3", "1E+3", "0.0000001", " 2 "]
    lines = [
        f"{T0 + 60 * i},X,{text},{text},{text},{text},0.0000000\n" for i, text in enumerate(awkward)
    ]
    path = tmp_path / "awkward.csv"
    path.write_text(HEADER + "".join(lines))
    rows = loaded_with_slow_digests(path, ["X"])["X"]
    assert rows.digest == sha256_of(expected_lines("X", lines))
    assert [str(bar.open) for bar in rows] == ["1", "0.5", "1", "7", "1E+3", "1E+3", "1E-7", "2"]
    assert str(rows[0].volume) == "0E-7"
    raw = "".join(
        f"X,{(T0 + 60 * i) * 10**6},{t.strip()},{t.strip()},{t.strip()},{t.strip()},0.0000000\n"
        for i, t in enumerate(awkward)
    )
    assert rows.digest != sha256_of(raw)


def test_a_file_of_one_symbol_takes_its_name_into_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "btcusdt.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + f"{T0},1.5,2,1,1.75,3\n")
    rows = load_bars(path)["BTCUSDT"]
    expected = f"BTCUSDT,{T0 * 10**6},1.5,2,1,1.75,3\n"
    assert rows.digest == sha256_of(expected)
    renamed = load_bars(path, symbol="XBT")["XBT"]
    assert renamed.digest == sha256_of(expected.replace("BTCUSDT", "XBT"))


def test_digest_is_the_same_in_any_number_of_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sample symbols (12,096 rows each) hashed 1,000 lines at a time, a partial last."""
    whole = load_bars(SAMPLE_CSV)
    monkeypatch.setattr(digest, "CHUNK_ROWS", 1_000)
    monkeypatch.setattr(digest, "LINE_ROWS", 1_000)
    chunked = load_bars(SAMPLE_CSV)
    for symbol, rows in chunked.items():
        assert len(rows) % 1_000
        assert rows.digest == whole[symbol].digest == bars_digest(symbol, list(rows))


def test_the_hashed_text_of_a_sliced_array_is_only_its_own() -> None:
    lines = pa.array(["a,1\n", "bb,22\n", "ccc,333\n"]).slice(1, 1)
    assert bytes(digest._data(lines)) == b"bb,22\n"
