"""``BarSeries``: one symbol's bars, immutable, with a digest that is the documented hash of its
lines; ``bars_digest`` hashes plain sequences the same way and refuses misfiled bars."""

from __future__ import annotations

import hashlib
import pickle
from decimal import Decimal

import pytest

from domain.market import Bar, BarSeries, MisfiledBarError, bars_digest
from tests.trading.helpers import wave_bars


def documented_digest(symbol: str, rows: list[Bar]) -> str:
    """The line format as documented, built by hand: ``symbol,time_us,o,h,l,c,v\\n``."""
    text = "".join(
        f"{symbol},{b.time_us},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in rows
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_digest_is_the_hash_of_one_line_per_bar() -> None:
    rows = wave_bars(25_003, "ETH")  # several 10,000-line chunks and a partial last one
    series = BarSeries("ETH", rows)
    assert series.digest == documented_digest("ETH", rows)
    assert bars_digest("ETH", rows) == series.digest == bars_digest("ETH", series)
    assert list(series) == rows and series.symbol == "ETH"
    assert BarSeries("ETH", []).digest == hashlib.sha256(b"").hexdigest()


def test_the_exact_text_of_each_decimal_counts() -> None:
    one = Bar("X", 0, Decimal("1.0"), Decimal(2), Decimal(1), Decimal(1), Decimal(0))
    same_value = Bar("X", 0, Decimal("1.00"), Decimal(2), Decimal(1), Decimal(1), Decimal(0))
    assert one == same_value
    assert BarSeries("X", [one]).digest != BarSeries("X", [same_value]).digest


def test_a_bar_of_another_symbol_is_refused() -> None:
    rows = [*wave_bars(3), wave_bars(5, "ETH")[3], *wave_bars(2)]
    with pytest.raises(MisfiledBarError, match=r"bar 3 of the 'BTC' bars is for symbol 'ETH'"):
        BarSeries("BTC", rows)
    with pytest.raises(MisfiledBarError, match=r"bar 3 of the 'BTC' bars is for symbol 'ETH'"):
        bars_digest("BTC", rows)
    with pytest.raises(MisfiledBarError, match=r"bar 0 of the 'XBT' bars is for symbol 'BTC'"):
        bars_digest("XBT", BarSeries("BTC", wave_bars(3)))


def test_a_supplied_digest_is_kept_and_survives_pickling() -> None:
    """``with_digest`` trusts its caller (the loader); pickling (``lh optimize`` workers)
    carries the digest along, computed or supplied, instead of hashing again."""
    supplied = BarSeries.with_digest("BTC", wave_bars(3), "f" * 64)
    assert supplied.digest == "f" * 64
    copy = pickle.loads(pickle.dumps(supplied))
    assert isinstance(copy, BarSeries) and copy.symbol == "BTC" and copy.digest == "f" * 64
    assert list(copy) == list(supplied)
    fresh = pickle.loads(pickle.dumps(BarSeries("BTC", wave_bars(3))))
    assert fresh.digest == documented_digest("BTC", wave_bars(3))


def test_nothing_can_change_under_the_digest() -> None:
    series = BarSeries("BTC", wave_bars(4))
    with pytest.raises(AttributeError):
        series.symbol = "ETH"  # type: ignore[misc]
    with pytest.raises(TypeError):
        series[0] = wave_bars(1)[0]  # type: ignore[index]
    part = series[1:3]
    assert type(part) is tuple and type(series + series) is tuple  # plain: no digest to carry
