"""One accounting rule (FIFO lots): the engine's book, the log-derived state and the SQL read
model agree exactly on quantity, cost basis, open lots and realized PnL for any fill sequence."""

from __future__ import annotations

import random
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from domain.events.catalog import AccountFunded, FillRecorded, OrderSubmitted
from domain.events.envelope import NewEvent, RecordedEvent
from domain.events.types import Liquidity, OrderType, Side
from domain.portfolio import Book
from infra.eventstore.factory import open_event_store
from projections.queries.state import LogState, fold
from projections.sql import migrate
from projections.sql.engine import create_read_model_engine
from projections.sql.models import CHECKPOINTS, LOTS, POSITIONS
from projections.sql.projection import SqlProjection
from tests.projections.support import dump

D = Decimal
T0 = 1_704_067_200_000_000
ACCOUNT = "A"
_AT = datetime(2026, 1, 1)
Fill = tuple[str, str, Side, Decimal, Decimal, Decimal]  # strategy, symbol, side, qty, price, fee

quantities = st.one_of(
    st.sampled_from([D(1), D(2), D(3), D("0.5"), D("1.5")]),  # round sizes: positions hit zero
    st.decimals(min_value=D("0.001"), max_value=D(5), places=3),
)
fill_sequences = st.lists(
    st.tuples(
        st.sampled_from(["s1", "s2"]),
        st.sampled_from(["BTC", "ETH"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        quantities,
        st.decimals(min_value=D(1), max_value=D(500), places=2),
        st.decimals(min_value=D(0), max_value=D(1), places=4),
    ),
    min_size=1,
    max_size=30,
)


def _recorded(fills: list[Fill], directory: Path) -> list[RecordedEvent]:
    """The fills as a real log: appended to a SQLite event store and read back."""
    events = [
        NewEvent(
            f"account-{ACCOUNT}",
            1,
            AccountFunded(account=ACCOUNT, currency="USD", amount=D(1_000_000)),
            "fund",
            T0,
        )
    ]
    for index, (strategy, symbol, side, quantity, price, fee) in enumerate(fills, start=1):
        order = OrderSubmitted(
            order_id=f"o{index}",
            client_order_id=f"c{index}",
            account=ACCOUNT,
            strategy=strategy,
            symbol=symbol,
            side=side,
            order_type=OrderType.MARKET,
            quantity=quantity,
            decision_id=f"d{index}",
            venue="SIM",
        )
        fill = FillRecorded(
            fill_id=f"f{index}",
            order_id=f"o{index}",
            account=ACCOUNT,
            strategy=strategy,
            symbol=symbol,
            side=side,
            price=price,
            quantity=quantity,
            fee=fee,
            fee_currency="USD",
            liquidity=Liquidity.TAKER,
            venue="SIM",
            venue_order_id=f"v{index}",
            venue_fill_id=f"vf{index}",
        )
        events.append(NewEvent(f"order-o{index}", 1, order, f"order-{index}", T0 + index))
        events.append(NewEvent(f"order-o{index}", 2, fill, f"fill-{index}", T0 + index))
    store = open_event_store(f"sqlite:///{directory / 'events.sqlite'}")
    try:
        store.append(events)
        return list(store.read_all())
    finally:
        store.close()


def _books(fills: list[Fill]) -> dict[str, Book]:
    books = {strategy: Book(strategy, D(500_000)) for strategy in ("s1", "s2")}
    for time, (strategy, symbol, side, quantity, price, fee) in enumerate(fills):
        books[strategy].apply_fill(symbol, side, quantity, price, fee=fee, time_us=time)
    return books


def _assert_all_agree(projection: SqlProjection, fills: list[Fill], state: LogState) -> None:
    books = _books(fills)
    with projection.engine.connect() as connection:
        rows = {
            (row.strategy, row.symbol): row
            for row in connection.execute(select(POSITIONS)).mappings()
        }
        lots: dict[tuple[str, str], list[tuple[Decimal, Decimal]]] = {}
        for lot in connection.execute(select(LOTS).order_by(LOTS.c.opened_position)).mappings():
            lots.setdefault((lot["strategy"], lot["symbol"]), []).append(
                (lot["quantity"], lot["price"])
            )
    traded = {(strategy, symbol) for strategy, symbol, *_ in fills}
    assert set(rows) == traded
    for strategy, symbol in traded:
        held = books[strategy].positions[symbol]
        key = (ACCOUNT, strategy, symbol)
        row = rows[(strategy, symbol)]
        fees = sum((f for s, sym, *_, f in fills if (s, sym) == (strategy, symbol)), D(0))
        domain_lots = [(lot.quantity, lot.price) for lot in held.lots]
        assert sum((q * p for q, p in domain_lots), D(0)) == held.cost
        assert (row["quantity"], state.positions[key]) == (held.quantity, held.quantity)
        assert (row["realized_pnl"], state.realized[key]) == (held.realized, held.realized)
        assert (row["cost_basis"], state.lots[key].cost) == (held.cost, held.cost)
        assert row["fees"] == fees
        assert lots.get((strategy, symbol), []) == domain_lots
        assert [(lot.quantity, lot.price) for lot in state.lots[key].lots] == domain_lots
    for strategy, book in books.items():
        mine = [key for key in state.realized if key[1] == strategy]
        assert sum((state.realized[key] for key in mine), D(0)) == book.realized
    assert projection.mismatches(state) == []


def test_fifo_realizes_against_the_oldest_lot_everywhere(tmp_path: Path) -> None:
    """The issue's example: buy 1 @ 100, buy 1 @ 200, sell 1 @ 150 realizes 50, not 0."""
    fills: list[Fill] = [
        ("s1", "BTC", Side.BUY, D(1), D(100), D(0)),
        ("s1", "BTC", Side.BUY, D(1), D(200), D(0)),
        ("s1", "BTC", Side.SELL, D(1), D(150), D(0)),
    ]
    events = _recorded(fills, tmp_path)
    projection = SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    try:
        for event in events:  # one batch per event: lots survive between transactions
            projection.apply([event])
        state = fold(events)
        assert state.realized[(ACCOUNT, "s1", "BTC")] == D(50)
        assert _books(fills)["s1"].realized == D(50)
        with projection.engine.connect() as connection:
            row = connection.execute(select(POSITIONS)).mappings().one()
        assert (row["realized_pnl"], row["cost_basis"], row["average_price"]) == (
            D(50),
            D(200),
            D(200),
        )
        _assert_all_agree(projection, fills, state)
    finally:
        projection.close()


@settings(max_examples=60, deadline=None)
@given(fills=fill_sequences, cuts=st.lists(st.integers(min_value=1, max_value=60), max_size=6))
def test_book_log_state_and_sql_agree_on_fifo_accounting(
    fills: list[Fill], cuts: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        events = _recorded(fills, Path(directory))
        projection = SqlProjection.open(f"sqlite:///{Path(directory) / 'readmodel.sqlite'}")
        try:
            start = 0
            for cut in [*sorted(set(cuts)), len(events)]:
                projection.apply(events[start:cut])
                start = max(start, cut)
            _assert_all_agree(projection, fills, fold(events))
            batched = dump(projection)
            projection.reset()
            projection.apply(events)  # one batch: the same rows, lots included
            assert dump(projection) == batched
        finally:
            projection.close()


def test_many_lots_across_batches_agree(sql_url: str, tmp_path: Path) -> None:
    """Long and short runs of many lots, closed and flipped across small batches (SQLite and
    MariaDB): a batch loads only the oldest lots it can close, and that is always enough."""
    rng = random.Random(11)
    fills: list[Fill] = []
    for leg in range(12):
        side = Side.BUY if leg % 2 == 0 else Side.SELL
        for _ in range(rng.randint(1, 90)):  # builds up lots on one side, then closes/flips
            quantity = D(rng.randint(1, 40)) / 10
            fills.append(("s1", "BTC", side, quantity, D(rng.randint(100, 20_000)) / 100, D(0)))
    events = _recorded(fills, tmp_path)
    projection = SqlProjection.open(sql_url)
    try:
        for start in range(0, len(events), 15):
            projection.apply(events[start : start + 15])
        _assert_all_agree(projection, fills, fold(events))
    finally:
        projection.close()


def test_synthetic_log_values_its_books_by_the_same_rule(
    small_events: list[RecordedEvent],
) -> None:
    """Every ``PortfolioValued`` the synthetic generator writes states the FIFO realized PnL
    and cost basis that the log's own fills give at that point."""
    state = LogState()
    valued = 0
    for event in small_events:
        state.apply(event)
        if event.event_type != "PortfolioValued":
            continue
        data = event.data
        keys = [key for key in state.lots if key[:2] == (data["account"], data["strategy"])]
        realized = sum((state.realized[key] for key in keys), D(0))
        cost = sum((state.lots[key].cost for key in keys), D(0))
        assert D(data["realized_pnl"]) == realized
        assert D(data["unrealized_pnl"]) == D(data["positions_value"]) - cost
        valued += 1
    assert valued > 50


def test_upgrading_an_average_cost_read_model_rebuilds_it(sql_url: str) -> None:
    """Rows folded at average cost before ``position_lots`` existed cannot continue under FIFO
    (their lots were never kept): the migration empties the read model and its checkpoint, so
    the runner replays the log."""
    engine = create_read_model_engine(sql_url)
    try:
        migrate.upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(
                insert(CHECKPOINTS), [{"name": "sql", "position": 9, "updated_at": _AT}]
            )
            connection.execute(
                insert(POSITIONS),
                [
                    {
                        "account": ACCOUNT,
                        "strategy": "s1",
                        "symbol": "BTC",
                        "quantity": D(1),
                        "cost_basis": D(150),
                        "average_price": D(150),
                        "realized_pnl": D(0),
                        "fees": D(0),
                        "fill_count": 3,
                        "updated_at": _AT,
                        "last_position": 9,
                    }
                ],
            )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(select(CHECKPOINTS)).all() == []
            assert connection.execute(select(POSITIONS)).all() == []
    finally:
        engine.dispose()
