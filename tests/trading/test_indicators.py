"""SimpleMovingAverage is exactly ``math.fsum(window) / period``, and SmaCross decides as before.

The SMA keeps an O(1) exact running sum instead of calling ``math.fsum`` per update; these
tests hold it to the reference bit for bit (signed zeros, inf, nan and exceptions included).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.indicators import SimpleMovingAverage
from domain.market import Bar
from domain.strategy.base import OrderTicket
from domain.strategy.builtins import SmaCross

Outcome = float | None | type[Exception]


def reference(values: Iterable[float], period: int) -> list[Outcome]:
    """The definition: ``None`` until full, then ``math.fsum(window) / period`` (or its error)."""
    window: deque[float] = deque(maxlen=period)
    outcomes: list[Outcome] = []
    for value in values:
        window.append(value)
        if len(window) < period:
            outcomes.append(None)
            continue
        try:
            outcomes.append(math.fsum(window) / period)
        except (OverflowError, ValueError) as error:
            outcomes.append(type(error))
    return outcomes


def ours(values: Iterable[float], period: int) -> list[Outcome]:
    sma = SimpleMovingAverage(period)
    outcomes: list[Outcome] = []
    for value in values:
        before = sma.value
        try:
            outcome: Outcome = sma.update(value)
        except (OverflowError, ValueError) as error:
            outcome = type(error)
            assert sma.value is before or _same(sma.value, before)  # a failed update keeps it
        else:
            assert _same(sma.value, outcome)
        outcomes.append(outcome)
    return outcomes


def _same(a: Outcome, b: Outcome) -> bool:
    """Identical: same float bits (repr tells -0.0 from 0.0 and is exact), or same error."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b) and repr(a) == repr(b)
    return a == b


def assert_matches_fsum(values: Sequence[float], period: int) -> None:
    expected, actual = reference(values, period), ours(values, period)
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert _same(want, got), (index, want, got, list(values[max(0, index - period + 1) :]))


periods = st.integers(min_value=1, max_value=40)


def decimal_prices(places: int) -> st.SearchStrategy[float]:
    """Prices as a data file has them: a Decimal string with ``places`` decimals, as float."""
    return st.integers(min_value=1, max_value=10**7 * 10**places).map(
        lambda units: float(Decimal(units).scaleb(-places))
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(), max_size=120), periods)
def test_any_floats_give_fsum_over_period_bit_for_bit(values: list[float], period: int) -> None:
    """All floats: subnormals, huge, signed zeros, inf, nan (and fsum's errors)."""
    assert_matches_fsum(values, period)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=2, max_value=8).flatmap(
        lambda places: st.lists(decimal_prices(places), min_size=1, max_size=200)
    ),
    periods,
)
def test_decimal_prices_give_fsum_over_period_bit_for_bit(values: list[float], period: int) -> None:
    assert_matches_fsum(values, period)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.1, 0.2, 0.3, 43123.45, 43123.46, 1e16, -1e16, 1.0, 0.0, -0.0, 5e-324]),
        max_size=150,
    ),
    periods,
)
def test_repeated_and_cancelling_values_give_fsum_bit_for_bit(
    values: list[float], period: int
) -> None:
    """Ties and cancellation: equal windows, values that cancel to zero, a few magnitudes."""
    assert_matches_fsum(values, period)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.5, max_value=1.0), st.integers(-1074, 1023), st.booleans()),
        max_size=120,
    ),
    periods,
)
def test_magnitudes_far_apart_give_fsum_bit_for_bit(
    parts: list[tuple[float, int, bool]], period: int
) -> None:
    """Windows that mix binades 2**-1074 .. 2**1023 (the grid has to move, or give up)."""
    values = []
    for mantissa, exponent, negative in parts:
        try:
            value = math.ldexp(mantissa, exponent)
        except OverflowError:
            value = math.inf
        values.append(-value if negative else value)
    assert_matches_fsum(values, period)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(1.0),
            st.builds(math.ldexp, st.floats(min_value=0.5, max_value=1.0), st.integers(90, 106)),
        ),
        max_size=120,
    ),
    st.integers(min_value=1, max_value=16),
)
def test_window_spanning_the_exact_range_gives_fsum_bit_for_bit(
    values: list[float], period: int
) -> None:
    """1.0 pins the grid at 2**0, so values near 2**100 sit at the edge of the exact range."""
    assert_matches_fsum(values, period)


@pytest.mark.parametrize(
    ("values", "period"),
    [
        ([-0.0, -0.0, -0.0], 1),
        ([-0.0, -0.0, -0.0], 2),
        ([1.0, -1.0, -0.0, 0.0], 2),
        ([math.inf, 1.0, 2.0, 3.0], 2),
        ([math.inf, -math.inf, 1.0, 2.0, 3.0], 2),
        ([math.nan, 1.0, 2.0, 3.0], 2),
        ([1e308, 1e308, 1.0, 2.0], 2),
        ([1e308, 1e308, -1e308, 5.0, 6.0, 7.0], 3),
        ([5e-324, 5e-324, 1e-320, 2.5e-308, 1.0], 2),
        ([1e-300, 1e300, 3.0, -2.0, 3.0, -2.0], 2),
        ([43123.45, 21561.725, 1e-9, 43123.45, 43123.46, 43123.45, 43123.46], 3),
        ([7, 8, 9, 2**60 + 1, 10, 11], 2),  # ints as fsum takes them: converted to float
    ],
)
def test_edge_cases_match_fsum(values: list[float], period: int) -> None:
    assert_matches_fsum(values, period)


@pytest.mark.parametrize("period", [2, 6, 14, 30])
def test_values_at_the_edge_of_the_exact_range_give_fsum_bit_for_bit(period: int) -> None:
    """Full-mantissa values around the largest the exact sums allow (1.0 pins the grid).

    The sums carry ``period + 1`` values; with ``s`` spare bits for them the exact range ends
    at ``2**(106 - 2*s)`` times the grid. Values just below and above it must both be exact.
    """
    rng = random.Random(period)
    spare = (period + 1).bit_length()
    top = 106 - 2 * spare
    values = [
        1.0
        if index % period == 0
        else math.ldexp(rng.getrandbits(53) | 1 << 52, top - 53 + rng.randint(-1, 2))
        for index in range(3_000)
    ]
    assert_matches_fsum(values, period)


def test_a_price_series_never_needs_fsum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The O(1) path: prices that halve, double and drift keep the exact running sum."""

    def fsum(values: Iterable[float]) -> float:
        raise AssertionError("math.fsum called")

    rng = random.Random(11)
    prices = []
    for index in range(20_000):  # 43k down to ~2k, up to ~900k, with noise
        price = 43_000.0 * math.exp(3.0 * math.sin(index / 2_000) + rng.gauss(0.0, 0.01))
        prices.append(float(Decimal(repr(price)).quantize(Decimal("0.01"))))
    expected = reference(prices, 30)
    monkeypatch.setattr(math, "fsum", fsum)  # the module the SMA calls it from
    assert ours(prices, 30) == expected
    assert min(prices) < 4_000 < 500_000 < max(prices)  # crossed binades both ways


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period must be >= 1"):
        SimpleMovingAverage(0)


# --- SmaCross ---------------------------------------------------------------------------------


class RecordingSmaCross(SmaCross):
    """SmaCross with the order call recorded instead of sent."""

    def on_start(self) -> None:
        super().on_start()
        self.orders: list[tuple[int, str, Decimal, str]] = []
        self.bar_index = 0

    def target_position(
        self, symbol: str, target: Decimal, *, reason: str = ""
    ) -> OrderTicket | None:
        self.orders.append((self.bar_index, symbol, target, reason))
        return None


def reference_cross_orders(
    bars: Sequence[Bar], fast: int, slow: int, size: Decimal
) -> list[tuple[int, str, Decimal, str]]:
    """The rule, written out: compare the two window means at each bar, act on a change."""
    closes: dict[str, list[float]] = {}
    above: dict[str, bool] = {}
    orders = []
    for index, bar in enumerate(bars):
        series = closes.setdefault(bar.symbol, [])
        series.append(float(bar.close))
        if len(series) < slow:
            continue
        now = math.fsum(series[-fast:]) / fast > math.fsum(series[-slow:]) / slow
        previous = above.get(bar.symbol)
        above[bar.symbol] = now
        if previous is None or previous == now:
            continue
        if now:
            orders.append((index, bar.symbol, size, "fast SMA crossed above"))
        else:
            orders.append((index, bar.symbol, Decimal(0), "fast SMA crossed below"))
    return orders


def realistic_bars(count: int, seed: int) -> list[Bar]:
    """Two symbols interleaved; random-walk closes in cents with flat stretches (equal SMAs)."""
    rng = random.Random(seed)
    prices = {"BTCUSDT": Decimal("43123.45"), "ETHUSDT": Decimal("2301.17")}
    bars = []
    for index in range(count):
        symbol = "BTCUSDT" if index % 3 else "ETHUSDT"
        price = prices[symbol]
        if rng.random() > 0.15:  # otherwise unchanged: runs of equal closes
            step = Decimal(rng.randint(-400, 400)) * price / 100_000
            price = max(Decimal("0.01"), (price + step).quantize(Decimal("0.01")))
        prices[symbol] = price
        bars.append(Bar(symbol, index * 60_000_000, price, price, price, price, Decimal(1)))
    return bars


@pytest.mark.parametrize(("fast", "slow", "seed"), [(10, 30, 1), (2, 3, 2), (1, 2, 3), (7, 50, 4)])
def test_sma_cross_orders_are_the_reference_rules(fast: int, slow: int, seed: int) -> None:
    bars = realistic_bars(30_000, seed)
    strategy = RecordingSmaCross({"fast": str(fast), "slow": str(slow), "size": "0.5"})
    strategy.on_start()
    for index, bar in enumerate(bars):
        strategy.bar_index = index
        strategy.on_bar(bar)
    expected = reference_cross_orders(bars, fast, slow, Decimal("0.5"))
    assert len(expected) > 100
    assert {symbol for _, symbol, _, _ in expected} == {"BTCUSDT", "ETHUSDT"}
    assert strategy.orders == expected
