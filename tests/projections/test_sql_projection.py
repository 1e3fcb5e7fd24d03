"""The SQL read model: row contents, exactly-once application, rebuild equivalence, migrations."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BalanceAdjusted,
    FillRecorded,
    KillSwitchEngaged,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RuleOutcome,
    StrategyRunStarted,
    StrategyRunStopped,
    TradingStateChanged,
)
from domain.events.envelope import NewEvent, RecordedEvent
from domain.events.types import (
    CancelOrigin,
    Liquidity,
    OrderType,
    RunMode,
    Side,
    TradingState,
)
from infra.eventstore.factory import open_event_store
from projections.queries import current_state as queries
from projections.queries.state import fold
from projections.sql import migrate
from projections.sql.models import LIMIT_CHANGES, LIMITS, ORDERS, POSITIONS, VIEW_TABLES
from projections.sql.projection import PositionGapError, SqlProjection
from tests.projections.support import apply_in_batches, dump

T0 = 1_704_067_200_000_000
D = Decimal


class _Log:
    """Hand-written events with stream versions and a clock that ticks 1 ms per event."""

    def __init__(self) -> None:
        self.events: list[NewEvent] = []
        self.versions: dict[str, int] = {}

    def add(self, stream: str, payload: DomainEvent) -> None:
        version = self.versions[stream] = self.versions.get(stream, 0) + 1
        self.events.append(
            NewEvent(stream, version, payload, f"{stream}:{version}", T0 + 1_000 * len(self.events))
        )


def _order(order_id: str, side: Side, quantity: str) -> OrderSubmitted:
    return OrderSubmitted(
        order_id=order_id,
        client_order_id=f"cl-{order_id}",
        account="A",
        strategy="s1",
        symbol="BTC",
        side=side,
        order_type=OrderType.LIMIT,
        quantity=D(quantity),
        limit_price=D(100),
        decision_id="d1",
        venue="SIM",
    )


def _fill(
    fill_id: str, order_id: str, side: Side, quantity: str, price: str, fee: str
) -> FillRecorded:
    return FillRecorded(
        fill_id=fill_id,
        order_id=order_id,
        account="A",
        strategy="s1",
        symbol="BTC",
        side=side,
        price=D(price),
        quantity=D(quantity),
        fee=D(fee),
        fee_currency="USD",
        liquidity=Liquidity.MAKER,
        venue="SIM",
        venue_order_id=f"v-{order_id}",
        venue_fill_id=f"v-{fill_id}",
    )


def _lifecycle(tmp_path: Path) -> list[RecordedEvent]:
    log = _Log()
    log.add("account-A", AccountFunded(account="A", currency="USD", amount=D(10_000)))
    log.add(
        "run-r1",
        StrategyRunStarted(
            run_id="r1",
            strategy="s1",
            params={"fast": "3"},
            symbols=["BTC"],
            mode=RunMode.PAPER,
            account="A",
            initial_cash=D(10_000),
            config_hash="c" * 64,
        ),
    )
    intent = OrderIntent(
        client_order_id="cl-x",
        account="A",
        strategy="s1",
        symbol="BTC",
        side=Side.BUY,
        quantity=D(9),
        order_type=OrderType.MARKET,
    )
    log.add(
        "risk-A",
        RiskDecisionMade(
            decision_id="d0",
            intent=intent,
            approved=False,
            order_id=None,
            rules=[
                RuleOutcome(
                    rule="max_order_quantity", passed=True, value="9", limit="10", detail=""
                ),
                RuleOutcome(
                    rule="max_position", passed=False, value="9", limit="5", detail="too big"
                ),
            ],
        ),
    )
    log.add("order-o1", _order("o1", Side.BUY, "2"))
    log.add("order-o1", OrderAccepted(order_id="o1", venue_order_id="v-o1"))
    log.add("order-o1", _fill("f1", "o1", Side.BUY, "0.5", "100", "0.05"))
    log.add(
        "order-o1",
        OrderPartiallyFilled(
            order_id="o1", filled_quantity=D("0.5"), leaves_quantity=D("1.5"), average_price=D(100)
        ),
    )
    log.add(
        "order-o1",
        OrderCancelRequested(
            order_id="o1", reason="stale", requested_by="ops", origin=CancelOrigin.OPERATOR
        ),
    )
    log.add("order-o1", OrderCanceled(order_id="o1", reason="user", filled_quantity=D("0.5")))
    log.add("order-o2", _order("o2", Side.SELL, "1.5"))
    log.add("order-o2", OrderAccepted(order_id="o2", venue_order_id="v-o2"))
    log.add("order-o2", _fill("f2", "o2", Side.SELL, "1.5", "110", "0.1"))
    log.add("order-o2", OrderFilled(order_id="o2", filled_quantity=D("1.5"), average_price=D(110)))
    log.add("order-o3", _order("o3", Side.BUY, "1"))
    log.add("order-o3", OrderRejected(order_id="o3", reason="venue busy"))
    log.add("order-o4", _order("o4", Side.BUY, "1"))
    log.add("order-o4", OrderAccepted(order_id="o4", venue_order_id="v-o4"))
    log.add("order-o4", OrderExpired(order_id="o4", filled_quantity=D(0)))
    log.add(
        "risk-A",
        RiskLimitsChanged(
            account="A",
            limit="max_position",
            old_value="5",
            new_value="7",
            operator="ops",
            reason="review",
        ),
    )
    log.add(
        "risk-A",
        TradingStateChanged(
            account="A",
            old_state=TradingState.ACTIVE,
            new_state=TradingState.REDUCING,
            operator="ops",
            reason="drawdown",
        ),
    )
    log.add("risk-A", KillSwitchEngaged(account="A", operator="ops", reason="drill"))
    log.add(
        "account-A",
        BalanceAdjusted(
            account="A", currency="USD", amount=D("-1.5"), reason="wire fee", operator="ops"
        ),
    )
    log.add(
        "run-r1",
        StrategyRunStopped(run_id="r1", reason="operator stop", final_equity=D("10003.35")),
    )
    store = open_event_store(f"sqlite:///{tmp_path / 'lifecycle.sqlite'}")
    store.append(log.events)
    events = list(store.read_all())
    store.close()
    return events


def _at(index: int) -> datetime:
    return datetime(2024, 1, 1, 0, 0, 0, index * 1_000)


def test_rows_follow_the_order_lifecycle_and_accounting(
    projection: SqlProjection, tmp_path: Path
) -> None:
    events = _lifecycle(tmp_path)
    apply_in_batches(projection, events, 1)  # every event its own transaction
    tables = dump(projection)
    columns = {table.name: [c.name for c in table.columns] for table in VIEW_TABLES}
    rows = {
        name: [dict(zip(columns[name], row, strict=True)) for row in tables[name]]
        for name in columns
    }
    orders = {row["order_id"]: row for row in rows["orders"]}
    o1 = orders["o1"]
    assert (o1["status"], o1["filled_quantity"], o1["leaves_quantity"]) == ("CANCELED", D("0.5"), 0)
    assert (o1["submitted_at"], o1["accepted_at"], o1["first_fill_at"]) == (_at(3), _at(4), _at(5))
    assert (o1["cancel_requested_at"], o1["canceled_at"], o1["filled_at"]) == (_at(7), _at(8), None)
    assert (o1["cancel_reason"], o1["cancel_requested_by"], o1["last_position"]) == (
        "user",
        "ops",
        9,
    )
    o2 = orders["o2"]
    assert (o2["status"], o2["filled_at"], o2["average_price"]) == ("FILLED", _at(12), D(110))
    assert (orders["o3"]["status"], orders["o3"]["reject_reason"]) == ("REJECTED", "venue busy")
    assert (orders["o4"]["status"], orders["o4"]["expired_at"]) == ("EXPIRED", _at(17))
    [position] = rows["positions"]
    # long 0.5 @ 100, then sell 1.5 @ 110: realize 0.5 * 10, hold -1 at 110
    assert (position["quantity"], position["cost_basis"], position["average_price"]) == (
        D(-1),
        D(-110),
        D(110),
    )
    assert (position["realized_pnl"], position["fees"], position["fill_count"]) == (
        D(5),
        D("0.15"),
        2,
    )
    [cash] = rows["cash_balances"]
    assert cash["balance"] == D("10113.35") and cash["last_position"] == 22
    [decision] = rows["risk_decisions"]
    assert (decision["approved"], decision["failed_rules"]) == (False, "max_position")
    assert [(r["rule"], r["passed"]) for r in rows["risk_rule_outcomes"]] == [
        ("max_order_quantity", True),
        ("max_position", False),
    ]
    [limit] = rows["risk_limits"]
    assert (limit["limit_name"], limit["value"]) == ("max_position", "7")
    [trading] = rows["trading_states"]
    assert (trading["state"], trading["kill_switch_engaged"]) == ("REDUCING", True)
    assert [r["action"] for r in rows["kill_switch_log"]] == ["STATE_CHANGED", "ENGAGED"]
    [run] = rows["strategy_runs"]
    assert (run["status"], run["final_equity"], run["symbols"]) == (
        "STOPPED",
        D("10003.35"),
        '["BTC"]',
    )
    assert tables["checkpoint"] == [("sql", len(events))]
    assert projection.mismatches(fold(events)) == []

    projection.reset()
    projection.apply(events)  # one transaction: the same rows
    assert dump(projection) == tables


def test_redelivered_and_overlapping_batches_apply_once(
    projection: SqlProjection, small_events: list[RecordedEvent]
) -> None:
    events = small_events
    projection.apply(events[:2_000])
    first = dump(projection)
    projection.apply(events[:2_000])  # the same batch again
    projection.apply(events[500:1_500])  # an older, partial batch
    assert dump(projection) == first
    projection.apply(events[1_500:3_500])  # overlaps what is applied
    projection.apply(events[3_000:])
    assert projection.checkpoint() == events[-1].position
    assert projection.mismatches(fold(events)) == []
    incremental = dump(projection)

    projection.reset()
    assert projection.checkpoint() == 0 and all(not rows for rows in dump(projection).values())
    apply_in_batches(projection, events, 5_000)
    assert dump(projection) == incremental


def test_a_batch_that_would_skip_events_is_refused(
    projection: SqlProjection, small_events: list[RecordedEvent]
) -> None:
    projection.apply(small_events[:100])
    before = dump(projection)
    with pytest.raises(PositionGapError, match="expected the event at position 101"):
        projection.apply(small_events[150:300])
    assert dump(projection) == before


def test_verify_lists_a_corrupted_position(
    projection: SqlProjection, small_events: list[RecordedEvent]
) -> None:
    projection.apply(small_events)
    state = fold(small_events)
    assert projection.mismatches(state) == []
    order_id = next(e.data["order_id"] for e in small_events if e.event_type == "OrderSubmitted")
    table = POSITIONS
    with projection.engine.begin() as connection:
        key = connection.execute(select(table.c.account, table.c.strategy, table.c.symbol)).first()
        assert key is not None
        connection.execute(
            table.update()
            .where(table.c.account == key[0], table.c.strategy == key[1], table.c.symbol == key[2])
            .values(quantity=table.c.quantity + 1)
        )
        orders = ORDERS
        connection.execute(orders.delete().where(orders.c.order_id == order_id))
    problems = projection.mismatches(state)
    assert any(f"position {tuple(key)}" in problem for problem in problems), problems
    assert any(f"{order_id}: in the log, missing here" in p for p in problems)
    assert len(problems) == 2


def test_migrations_create_and_drop_every_table(sql_url: str) -> None:
    projection = SqlProjection.open(sql_url)
    try:
        assert migrate.current_revision(projection.engine) == migrate.head_revision()
        names = set(inspect(projection.engine).get_table_names())
        assert {table.name for table in VIEW_TABLES} | {"projection_checkpoints"} <= names
        migrate.downgrade(projection.engine)
        assert set(inspect(projection.engine).get_table_names()) <= {migrate.VERSION_TABLE}
        migrate.upgrade(projection.engine)
        again = SqlProjection.open(sql_url)  # opening an up-to-date schema is a no-op
        again.close()
        assert set(inspect(projection.engine).get_table_names()) == names
    finally:
        projection.close()


def test_awkward_text_round_trips_exactly(projection: SqlProjection, tmp_path: Path) -> None:
    awkward = 'it\'s \\ "quoted" 100% \n\r\t\x1a 中文 🙂 ; DROP TABLE orders; --'
    log = _Log()
    log.add(
        "risk-A",
        RiskLimitsChanged(
            account="A",
            limit="max_position",
            old_value=None,
            new_value=awkward,
            operator="ops",
            reason=awkward,
        ),
    )
    store = open_event_store(f"sqlite:///{tmp_path / 'awkward.sqlite'}")
    store.append(log.events)
    projection.apply(list(store.read_all()))
    store.close()
    with projection.engine.connect() as connection:
        stored = connection.execute(select(LIMITS.c.value, LIMITS.c.reason)).one()
        history = connection.execute(
            select(LIMIT_CHANGES.c.old_value, LIMIT_CHANGES.c.reason)
        ).one()
    assert tuple(stored) == (awkward, awkward)
    assert tuple(history) == (None, awkward)


def test_queries_answer_from_the_rows(projection: SqlProjection, tmp_path: Path) -> None:
    projection.apply(_lifecycle(tmp_path))
    engine = projection.engine
    assert queries.order(engine, "o2") is not None and queries.order(engine, "nope") is None
    assert [o["order_id"] for o in queries.orders(engine, account="A")] == ["o4", "o3", "o2", "o1"]
    assert queries.orders(engine, open_only=True) == []
    assert [f["fill_id"] for f in queries.fills(engine, order_id="o1")] == ["f1"]
    assert [f["fill_id"] for f in queries.fills(engine, since=_at(6))] == ["f2"]
    [position] = queries.positions(engine, account="A")
    assert position["quantity"] == D(-1)
    assert queries.cash_balances(engine)[0]["balance"] == D("10113.35")
    [decision] = queries.risk_decisions(engine, approved=False)
    assert [rule["rule"] for rule in decision["rules"]] == ["max_order_quantity", "max_position"]
    assert queries.risk_decisions(engine, approved=True) == []
    assert queries.strategy_runs(engine)[0]["status"] == "STOPPED"
    assert queries.risk_limits(engine, account="A")[0]["value"] == "7"
    assert queries.risk_limit_history(engine)[0]["old_value"] == "5"
    assert [e["action"] for e in queries.kill_switch_log(engine, account="A")] == [
        "STATE_CHANGED",
        "ENGAGED",
    ]
    state = queries.trading_state(engine, "A")
    assert state is not None and state["kill_switch_engaged"] is True
    assert queries.checkpoints(engine) == {"sql": 23}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(min_value=1, max_value=1_499), max_size=12))
def test_rows_do_not_depend_on_batch_boundaries(
    cuts: list[int], small_events: list[RecordedEvent], tmp_path: Path
) -> None:
    events = small_events[:1_500]
    reference = SqlProjection.open(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    if reference.checkpoint() == 0:
        reference.apply(events)
    candidate = SqlProjection.open(f"sqlite:///{tmp_path / 'candidate.sqlite'}")
    candidate.reset()
    bounds = [0, *sorted(set(cuts)), len(events)]
    for start, end in itertools.pairwise(bounds):
        candidate.apply(events[max(0, start - 7) : end])  # each batch re-delivers a few events
    assert dump(candidate) == dump(reference)
    candidate.close()
    reference.close()
