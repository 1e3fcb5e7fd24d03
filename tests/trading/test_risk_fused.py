"""The fused check (``all_outcomes``) returns exactly what the rules one by one return."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.types import TradingState
from domain.risk.limits import CompiledLimits, RiskLimits
from domain.risk.rules import ALL_RULES, Counters, OrderFacts, all_outcomes

_amounts = st.decimals(min_value=0, max_value=10_000, places=4)
_positive = st.decimals(min_value=Decimal("0.0001"), max_value=10_000, places=4)
_signed = st.decimals(min_value=-10_000, max_value=10_000, places=4)
_counts = st.integers(min_value=0, max_value=200)

facts = st.builds(
    OrderFacts,
    strategy=st.sampled_from(["s1", "s2"]),
    symbol=st.sampled_from(["BTC", "ETH"]),
    quantity=_positive,
    price=st.none() | _positive,
    last_price=st.none() | _positive | st.just(Decimal("100.0")),
    notional=st.none() | _amounts,
    position=_signed,
    projected=_signed,
    reducing=st.booleans(),
    now_us=st.integers(min_value=0, max_value=2**40),
    short=_amounts,
    cost=st.none() | st.just(Decimal(0)) | _amounts,
    available=_signed,
    reserved=st.just(Decimal(0)) | _amounts,
)

counters = st.builds(
    Counters,
    kill_switch=st.booleans(),
    state=st.sampled_from(list(TradingState)),
    account_last_second=_counts,
    account_today=_counts,
    strategy_last_second=_counts,
    strategy_today=_counts,
    duplicate_age_us=st.none() | st.integers(min_value=0, max_value=3_000_000),
    daily_loss=_signed,
    drawdown=st.decimals(min_value=0, max_value=1, places=6),
    daily_loss_text=st.text(max_size=8),
    drawdown_text=st.text(max_size=8),
)

limits = st.builds(
    RiskLimits,
    max_order_quantity=_positive,
    max_order_notional=_positive,
    max_position=_positive,
    price_collar=st.decimals(min_value=Decimal("0.001"), max_value=1, places=3),
    max_orders_per_second=st.integers(min_value=1, max_value=100),
    max_orders_per_day=st.integers(min_value=1, max_value=100),
    max_strategy_orders_per_second=st.integers(min_value=1, max_value=100),
    max_strategy_orders_per_day=st.integers(min_value=1, max_value=100),
    duplicate_window_us=st.integers(min_value=0, max_value=2_000_000),
    max_daily_loss=st.none() | _positive,
    max_drawdown=st.none() | st.decimals(min_value=Decimal("0.01"), max_value=1, places=2),
    restricted_symbols=st.frozensets(st.sampled_from(["BTC", "ETH", "SOL"])),
    max_short_position=_amounts,
)


@settings(max_examples=400, deadline=None)
@given(facts, limits, counters)
def test_fused_outcomes_equal_the_rules_one_by_one(
    o: OrderFacts, risk_limits: RiskLimits, c: Counters
) -> None:
    compiled = CompiledLimits.of(risk_limits)
    expected = tuple(rule(o, compiled, c) for rule in ALL_RULES)
    fused = all_outcomes(o, compiled, c)
    assert fused == expected
    assert [type(outcome["passed"]) for outcome in fused] == [bool] * len(ALL_RULES)
