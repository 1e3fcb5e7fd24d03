"""Each pre-trade rule on its own: the verdict, the value it measured and the limit."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from domain.events.catalog import OrderIntent, RuleOutcome
from domain.events.types import OrderType, Side, TradingState
from domain.risk import RiskCommandError, RiskEngine, RiskLimits
from domain.risk.rules import ALL_RULES

T0 = 1_704_067_200_000_000
ZERO = Decimal(0)
CASH = Decimal(1_000_000)
_ids = itertools.count(1)


def intent(
    side: Side = Side.BUY,
    quantity: str = "1",
    *,
    symbol: str = "BTC",
    strategy: str = "s1",
    order_type: OrderType = OrderType.MARKET,
    limit_price: str | None = None,
) -> OrderIntent:
    return OrderIntent(
        client_order_id=f"c{next(_ids)}",
        account="acct",
        strategy=strategy,
        symbol=symbol,
        side=side,
        quantity=Decimal(quantity),
        order_type=order_type,
        limit_price=Decimal(limit_price) if limit_price else None,
        reference_price=Decimal(100),
    )


def engine(**limits: object) -> RiskEngine:
    risk = RiskEngine("acct", RiskLimits.model_validate(limits))
    risk.update_price("BTC", Decimal(100))
    risk.update_equity(Decimal(10_000), T0)
    return risk


def outcome(check: object, rule: str) -> tuple[bool, str, str]:
    for result in check.outcomes:  # type: ignore[attr-defined]
        if result["rule"] == rule:
            return result["passed"], result["value"], result["limit"]
    raise AssertionError(f"rule {rule} not evaluated")


def test_every_rule_is_evaluated_and_recorded_as_catalog_values() -> None:
    check = engine().check(intent(), now_us=T0, cash=CASH, position=Decimal(0))
    assert check.approved
    recorded = TypeAdapter(list[RuleOutcome]).validate_python(check.rule_outcomes())
    assert recorded == list(check.outcomes)
    assert [o["rule"] for o in recorded] == [
        "kill_switch",
        "trading_state",
        "restricted_symbol",
        "max_order_quantity",
        "max_order_notional",
        "max_position",
        "buying_power",
        "short_sale",
        "price_collar",
        "max_orders_per_second",
        "max_strategy_orders_per_second",
        "max_orders_per_day",
        "max_strategy_orders_per_day",
        "duplicate_order",
        "max_daily_loss",
        "max_drawdown",
    ]
    assert len(check.outcomes) == len(ALL_RULES) == 16


def test_max_order_quantity() -> None:
    risk = engine(max_order_quantity="5")
    assert outcome(
        risk.check(intent(quantity="5"), now_us=T0, cash=CASH, position=Decimal(0)),
        "max_order_quantity",
    ) == (True, "5", "5")
    check = risk.check(intent(quantity="6"), now_us=T0 + 10**7, cash=CASH, position=Decimal(0))
    assert not check.approved
    assert outcome(check, "max_order_quantity") == (False, "6", "5")


def test_max_order_notional_uses_reference_or_limit_price() -> None:
    risk = engine(max_order_notional="1000")
    check = risk.check(intent(quantity="11"), now_us=T0, cash=CASH, position=Decimal(0))
    assert outcome(check, "max_order_notional") == (False, "1100", "1000")
    limit = intent(quantity="11", order_type=OrderType.LIMIT, limit_price="90")
    assert outcome(
        risk.check(limit, now_us=T0, cash=CASH, position=Decimal(0)), "max_order_notional"
    ) == (
        True,
        "990",
        "1000",
    )


def test_max_position_counts_position_and_working_orders_but_admits_reductions() -> None:
    risk = engine(max_position="10")
    check = risk.check(
        intent(quantity="3"), now_us=T0, cash=CASH, position=Decimal(6), pending=Decimal(2)
    )
    assert outcome(check, "max_position") == (False, "11", "10")
    reduce = risk.check(intent(Side.SELL, "2"), now_us=T0, cash=CASH, position=Decimal(12))
    assert outcome(reduce, "max_position")[0]


def test_price_collar_against_last_price() -> None:
    risk = engine(price_collar="0.05")
    far = intent(order_type=OrderType.LIMIT, limit_price="106")
    passed, value, limit = outcome(
        risk.check(far, now_us=T0, cash=CASH, position=Decimal(0)), "price_collar"
    )
    assert (passed, value, limit) == (False, "0.060000", "0.05")
    near = intent(order_type=OrderType.LIMIT, limit_price="104")
    assert outcome(risk.check(near, now_us=T0, cash=CASH, position=Decimal(0)), "price_collar")[0]


def test_price_collar_fails_without_a_last_price() -> None:
    risk = RiskEngine("acct")
    check = risk.check(intent(symbol="ETH"), now_us=T0, cash=CASH, position=Decimal(0))
    assert outcome(check, "price_collar") == (False, "unknown", "0.10")


def test_orders_per_second_per_account_and_per_strategy() -> None:
    risk = engine(max_orders_per_second=3, max_strategy_orders_per_second=2)
    results = [
        risk.check(intent(quantity=str(q), strategy="a"), now_us=T0, cash=CASH, position=Decimal(0))
        for q in (1, 2, 3)
    ]
    assert [r.approved for r in results] == [True, True, False]
    assert outcome(results[2], "max_strategy_orders_per_second") == (False, "3", "2")
    other = risk.check(intent(strategy="b"), now_us=T0, cash=CASH, position=Decimal(0))
    assert outcome(other, "max_orders_per_second") == (True, "3", "3")
    again = risk.check(
        intent(quantity="9", strategy="b"), now_us=T0, cash=CASH, position=Decimal(0)
    )
    assert outcome(again, "max_orders_per_second") == (False, "4", "3")
    later = risk.check(
        intent(quantity="9", strategy="b"), now_us=T0 + 1_000_001, cash=CASH, position=Decimal(0)
    )
    assert later.approved


def test_orders_per_day_reset_at_utc_midnight() -> None:
    risk = engine(max_orders_per_day=2)
    day = 86_400_000_000
    checks = [
        risk.check(
            intent(quantity=str(i + 1)), now_us=T0 + i * 2_000_000, cash=CASH, position=Decimal(0)
        )
        for i in range(3)
    ]
    assert [c.approved for c in checks] == [True, True, False]
    assert outcome(checks[2], "max_orders_per_day") == (False, "3", "2")
    assert risk.check(intent(), now_us=T0 + day, cash=CASH, position=Decimal(0)).approved


def test_duplicate_order_guard() -> None:
    risk = engine(duplicate_window_us=1_000_000)
    assert risk.check(intent(), now_us=T0, cash=CASH, position=Decimal(0)).approved
    duplicate = risk.check(intent(), now_us=T0 + 500_000, cash=CASH, position=Decimal(0))
    assert outcome(duplicate, "duplicate_order") == (False, "500000", "1000000")
    assert risk.check(intent(), now_us=T0 + 2_000_000, cash=CASH, position=Decimal(0)).approved


def test_restricted_symbols() -> None:
    risk = engine(restricted_symbols=frozenset({"BTC", "XRP"}))
    check = risk.check(intent(), now_us=T0, cash=CASH, position=Decimal(0))
    assert outcome(check, "restricted_symbol") == (False, "BTC", "BTC,XRP")


def test_max_daily_loss_blocks_new_risk_but_not_reductions() -> None:
    risk = engine(max_daily_loss="500")
    risk.update_equity(Decimal(9_400), T0 + 1)
    check = risk.check(intent(), now_us=T0 + 2, cash=CASH, position=Decimal(0))
    assert outcome(check, "max_daily_loss") == (False, "600", "500")
    assert risk.check(
        intent(Side.SELL, "1"), now_us=T0 + 3, cash=CASH, position=Decimal(5)
    ).approved


def test_max_drawdown_from_peak() -> None:
    risk = engine(max_drawdown="0.1")
    risk.update_equity(Decimal(12_000), T0 + 1)
    risk.update_equity(Decimal(10_500), T0 + 2)
    check = risk.check(intent(), now_us=T0 + 3, cash=CASH, position=Decimal(0))
    assert outcome(check, "max_drawdown") == (False, "0.125000", "0.1")


def test_trading_state_reducing_admits_only_reducing_orders() -> None:
    risk = engine()
    risk.set_trading_state(TradingState.REDUCING, operator="ops", reason="end of day")
    grow = risk.check(intent(Side.BUY, "1"), now_us=T0, cash=CASH, position=Decimal(5))
    assert outcome(grow, "trading_state") == (False, "REDUCING", "reducing orders only")
    flip = risk.check(intent(Side.SELL, "7"), now_us=T0, cash=CASH, position=Decimal(5))
    assert not flip.approved
    shrink = risk.check(intent(Side.SELL, "5"), now_us=T0, cash=CASH, position=Decimal(5))
    assert shrink.approved
    risk.set_trading_state(TradingState.HALTED, operator="ops", reason="incident")
    halted = risk.check(
        intent(Side.SELL, "1", symbol="BTC"), now_us=T0 + 9**9, cash=CASH, position=Decimal(5)
    )
    assert outcome(halted, "trading_state") == (False, "HALTED", "ACTIVE|REDUCING")


def test_kill_switch_rule_and_commands() -> None:
    risk = engine()
    event = risk.engage_kill_switch(operator="alice", reason="runaway")
    assert (event.operator, event.reason) == ("alice", "runaway")
    check = risk.check(intent(), now_us=T0, cash=CASH, position=Decimal(0))
    assert outcome(check, "kill_switch") == (False, "engaged", "released")
    with pytest.raises(RiskCommandError):
        risk.engage_kill_switch(operator="alice", reason="twice")
    risk.release_kill_switch(operator="bob", reason="fixed")
    assert risk.check(intent(), now_us=T0, cash=CASH, position=Decimal(0)).approved


def test_change_limit_records_old_and_new_value_and_validates() -> None:
    risk = engine()
    event = risk.change_limit("max_order_quantity", "2", operator="ops", reason="tighten")
    assert (event.limit, event.old_value, event.new_value) == ("max_order_quantity", "1000000", "2")
    assert not risk.check(intent(quantity="3"), now_us=T0, cash=CASH, position=Decimal(0)).approved
    with pytest.raises(RiskCommandError, match="unknown risk limit"):
        risk.change_limit("max_banana", "1", operator="ops", reason="x")
    with pytest.raises(RiskCommandError, match="invalid"):
        risk.change_limit("max_order_quantity", "-1", operator="ops", reason="x")
    assert risk.limits.max_order_quantity == Decimal(2)


def test_buying_power_counts_fees_slippage_and_cash_reserved_by_open_orders() -> None:
    risk = RiskEngine("acct", fee_rate=Decimal("0.001"), slippage_bps=Decimal(10))
    risk.update_price("BTC", Decimal(100))
    risk.update_equity(Decimal(1_000), T0)
    # 5 x 100 x 1.001 x 1.001 = 501.0005: more than 501 of cash, enough with 502.
    short_of_cash = risk.check(intent(quantity="5"), now_us=T0, cash=Decimal(501), position=ZERO)
    assert not short_of_cash.approved
    assert outcome(short_of_cash, "buying_power") == (False, "501.000500", "501")
    paid = risk.check(intent(quantity="5"), now_us=T0 + 1, cash=Decimal(502), position=ZERO)
    assert paid.approved and paid.unit_cost == Decimal("100.2001")
    reserved = risk.check(
        intent(quantity="4"),
        now_us=T0 + 2,
        cash=Decimal(600),
        position=ZERO,
        reserved=Decimal("200"),
    )
    assert outcome(reserved, "buying_power") == (False, "400.800400", "400")
    # A limit order takes no slippage: 5 x 100 x 1.001 = 500.5.
    maker = intent(quantity="5", order_type=OrderType.LIMIT, limit_price="100")
    assert risk.check(maker, now_us=T0 + 3, cash=Decimal("500.5"), position=ZERO).approved


def test_a_sale_needs_no_cash_but_a_short_sale_needs_a_limit() -> None:
    risk = engine()
    broke = Decimal(-5)
    assert risk.check(intent(Side.SELL, "2"), now_us=T0, cash=broke, position=Decimal(2)).approved
    short = risk.check(intent(Side.SELL, "3"), now_us=T0 + 1, cash=CASH, position=Decimal(2))
    assert outcome(short, "short_sale") == (False, "1", "0")
    spoken_for = risk.check(
        intent(Side.SELL, "2"),
        now_us=T0 + 2,
        cash=CASH,
        position=Decimal(2),
        pending=Decimal(-1),
        selling=Decimal(1),
    )
    assert outcome(spoken_for, "short_sale") == (False, "1", "0")
    # An open buy may never fill: what it would bring cannot be sold yet.
    on_credit = risk.check(
        intent(Side.SELL, "1"), now_us=T0 + 3, cash=CASH, position=ZERO, pending=Decimal(1)
    )
    assert outcome(on_credit, "short_sale") == (False, "1", "0")
    covering = risk.check(intent(Side.BUY, "1"), now_us=T0 + 4, cash=CASH, position=Decimal(-3))
    assert outcome(covering, "short_sale") == (True, "0", "0")
    allowed = engine(max_short_position="5")
    check = allowed.check(intent(Side.SELL, "3"), now_us=T0, cash=CASH, position=Decimal(2))
    assert check.approved and outcome(check, "short_sale") == (True, "1", "5")
