"""Accounting invariants of the book, property-tested over random fill sequences."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.types import Side
from domain.portfolio import Book, Portfolio

D = Decimal
INITIAL = D(100_000)

fills = st.lists(
    st.tuples(
        st.sampled_from(["BTC", "ETH"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.decimals(min_value=D("0.001"), max_value=D(50), places=3),
        st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
        st.decimals(min_value=D(0), max_value=D(5), places=8),
    ),
    min_size=1,
    max_size=40,
)
marks = st.tuples(
    st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
    st.decimals(min_value=D("0.01"), max_value=D(5000), places=2),
)


@settings(max_examples=150, deadline=None)
@given(fills, marks)
def test_book_reconciles_exactly_with_its_fills(
    sequence: list[tuple[str, Side, Decimal, Decimal, Decimal]], mark: tuple[Decimal, Decimal]
) -> None:
    book = Book("s", INITIAL)
    for time, (symbol, side, quantity, price, fee) in enumerate(sequence):
        book.apply_fill(symbol, side, quantity, price, fee=fee, time_us=time)
    book.mark("BTC", mark[0])
    book.mark("ETH", mark[1])

    for symbol in ("BTC", "ETH"):
        signed = sum((s.sign * q for sym, s, q, _, _ in sequence if sym == symbol), D(0))
        assert book.position(symbol) == signed
        held = book.positions.get(symbol)
        if held is not None:
            assert sum((lot.quantity for lot in held.lots), D(0)) == signed
    assert book.fees == sum((f for *_, f in sequence), D(0))
    assert book.cash == INITIAL - sum((s.sign * q * p + f for _, s, q, p, f in sequence), D(0))
    positions_value = sum((q * book.marks[s] for s, q in book.open_positions().items()), D(0))
    assert book.equity == book.cash + positions_value
    assert book.equity == INITIAL + book.realized + book.unrealized - book.fees

    open_realized = sum((p.trip.realized for p in book.positions.values() if p.trip), D(0))
    open_fees = sum((p.trip.fees for p in book.positions.values() if p.trip), D(0))
    assert book.realized == sum((t.pnl + t.fees for t in book.trades), D(0)) + open_realized
    assert book.fees == sum((t.fees for t in book.trades), D(0)) + open_fees


@settings(max_examples=60, deadline=None)
@given(fills)
def test_flat_book_pnl_is_the_sum_of_its_closed_trades(
    sequence: list[tuple[str, Side, Decimal, Decimal, Decimal]],
) -> None:
    book = Book("s", INITIAL)
    for time, (symbol, side, quantity, price, fee) in enumerate(sequence):
        book.apply_fill(symbol, side, quantity, price, fee=fee, time_us=time)
    for symbol, quantity in book.open_positions().items():
        side = Side.SELL if quantity > 0 else Side.BUY
        book.apply_fill(symbol, side, abs(quantity), D(100), fee=D("0.5"), time_us=999)
    assert book.open_positions() == {}
    assert sum((t.pnl for t in book.trades), D(0)) == book.equity - INITIAL


def test_partial_close_and_flip_make_round_trips_with_split_fees() -> None:
    book = Book("s", D(10_000))
    book.apply_fill("BTC", Side.BUY, D(4), D(100), fee=D(4), time_us=1)
    assert book.apply_fill("BTC", Side.SELL, D(1), D(110), fee=D(1), time_us=2) == []
    [trade] = book.apply_fill("BTC", Side.SELL, D(5), D(120), fee=D(5), time_us=3)
    assert (trade.side, trade.quantity, trade.entry_price, trade.exit_time_us) == (
        Side.BUY,
        D(4),
        D(100),
        3,
    )
    assert trade.exit_price == D("117.50000000")
    assert trade.fees == D(4) + D(1) + D(3)
    assert trade.pnl == D(10) + D(60) - trade.fees
    assert book.position("BTC") == D(-2)
    assert book.positions["BTC"].average_price == D(120)
    [short] = book.apply_fill("BTC", Side.BUY, D(2), D(90), fee=D(0), time_us=4)
    assert (short.side, short.pnl) == (Side.SELL, D(60) - D(2))


def test_portfolio_keeps_one_book_per_strategy_with_its_allocation() -> None:
    portfolio = Portfolio({"trend": D(60_000), "revert": D(40_000)})
    portfolio.book("trend").apply_fill("BTC", Side.BUY, D(1), D(100), fee=D(0), time_us=1)
    portfolio.mark("BTC", D(150))
    assert portfolio.book("trend").equity == D(60_050)
    assert portfolio.book("revert").equity == D(40_000)
    assert portfolio.equity == D(100_050)
