"""The engine's fast event build (``domain.engine.building.trusted``) equals pydantic's
validation for every event class the engine builds that way, and the gates that choose the
fast path admit only requests and fills validation accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from domain.engine.building import plain_fill, plain_request, trusted
from domain.engine.ports import Filled
from domain.events.catalog import (
    FillRecorded,
    OrderAccepted,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderSubmitted,
    PortfolioValued,
    RiskDecisionMade,
    SignalGenerated,
)
from domain.events.codec import canonical_json, payload_json
from domain.events.types import Liquidity, OrderType, Side, TimeInForce

ENGINE = Path(__file__).resolve().parents[2] / "domain" / "engine"
ids = st.text(min_size=1, max_size=24)
texts = st.text(max_size=40)


def _decimals(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.integers(0, 18).flatmap(
        lambda places: st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places)
    )


positive = _decimals("0.000000000000000001", "999999999")
non_negative = _decimals("0", "999999999")
signed = _decimals("-99999999999999", "99999999999999")
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
rule_outcomes = st.fixed_dictionaries(
    {"rule": ids, "passed": st.booleans(), "value": texts, "limit": texts, "detail": texts}
)

INTENT = {
    "client_order_id": ids,
    "account": ids,
    "strategy": ids,
    "symbol": ids,
    "side": st.sampled_from(Side),
    "quantity": positive,
    "order_type": st.sampled_from(OrderType),
    "limit_price": st.none() | positive,
    "stop_price": st.none() | positive,
    "reference_price": positive,
}
intents = st.fixed_dictionaries(INTENT).map(lambda fields: trusted(OrderIntent, fields))

FIELDS: dict[type[BaseModel], dict[str, st.SearchStrategy[Any]]] = {
    OrderIntent: INTENT,
    SignalGenerated: {
        "signal_id": ids,
        "run_id": ids,
        "strategy": ids,
        "symbol": ids,
        "side": st.sampled_from(Side),
        "quantity": positive,
        "target_position": signed,
        "reason": texts,
        "bar_time": moments,
        "bar_close": positive,
    },
    RiskDecisionMade: {
        "decision_id": ids,
        "intent": intents,
        "approved": st.booleans(),
        "rules": st.lists(rule_outcomes, max_size=4),
        "signal_id": ids,
        "order_id": st.none() | ids,
    },
    OrderSubmitted: {
        "order_id": ids,
        "client_order_id": ids,
        "account": ids,
        "strategy": ids,
        "symbol": ids,
        "side": st.sampled_from(Side),
        "order_type": st.sampled_from(OrderType),
        "quantity": positive,
        "limit_price": st.none() | positive,
        "stop_price": st.none() | positive,
        "time_in_force": st.sampled_from(TimeInForce),
        "decision_id": ids,
        "venue": ids,
    },
    OrderAccepted: {"order_id": ids, "venue_order_id": ids},
    FillRecorded: {
        "fill_id": ids,
        "order_id": ids,
        "account": ids,
        "strategy": ids,
        "symbol": ids,
        "side": st.sampled_from(Side),
        "price": positive,
        "quantity": positive,
        "fee": non_negative,
        "fee_currency": ids,
        "liquidity": st.sampled_from(Liquidity),
        "venue": ids,
        "venue_order_id": ids,
        "venue_fill_id": ids,
    },
    OrderPartiallyFilled: {
        "order_id": ids,
        "filled_quantity": positive,
        "leaves_quantity": positive,
        "average_price": positive,
    },
    OrderFilled: {"order_id": ids, "filled_quantity": positive, "average_price": positive},
    PortfolioValued: {
        "run_id": ids,
        "account": ids,
        "strategy": ids,
        "cash": signed,
        "positions_value": signed,
        "equity": signed,
        "realized_pnl": signed,
        "unrealized_pnl": signed,
        "fees": non_negative,
        "positions": st.dictionaries(ids, signed, max_size=3),
    },
}


def assert_same(built: BaseModel, validated: BaseModel) -> None:
    assert built == validated
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump(mode="json") == validated.model_dump(mode="json")
    assert payload_json(built) == payload_json(validated)
    assert payload_json(built) == canonical_json(validated.model_dump(mode="json"))


def test_every_class_the_engine_builds_trusted_is_covered() -> None:
    built = {
        name
        for path in ENGINE.glob("*.py")
        for name in re.findall(r"(?<!def )\btrusted\(\s*(\w+)", path.read_text())
    }
    assert built == {cls.__name__ for cls in FIELDS}
    for cls, fields in FIELDS.items():
        assert set(fields) == set(cls.model_fields), cls.__name__


@pytest.mark.parametrize("cls", list(FIELDS), ids=lambda cls: cls.__name__)
def test_a_trusted_build_equals_validation(cls: type[BaseModel]) -> None:
    @settings(max_examples=40, deadline=None)
    @given(st.fixed_dictionaries(FIELDS[cls]))
    def check(fields: dict[str, Any]) -> None:
        assert_same(trusted(cls, fields), cls.model_validate(fields))

    check()


def test_a_trusted_build_needs_every_field() -> None:
    with pytest.raises(TypeError, match="needs exactly the fields"):
        trusted(OrderAccepted, {"order_id": "o1"})


wide = st.builds(Decimal(1).scaleb, st.integers(-25, 25)).flatmap(
    lambda unit: st.integers(1, 999).map(unit.__mul__)
)  # positive, from far below to far above every bound
anything = (
    wide
    | _decimals("-1e22", "1e22")
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.floats()
    | st.integers()
    | st.text(max_size=3)
    | st.none()
)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(Side) | st.text(max_size=4),
    quantity=anything,
    order_type=st.sampled_from(OrderType) | st.text(max_size=6),
    reason=texts | st.integers(),
    limit_price=anything,
    stop_price=anything,
)
def test_requests_let_through_unvalidated_are_valid(
    side: object,
    quantity: object,
    order_type: object,
    reason: object,
    limit_price: object,
    stop_price: object,
) -> None:
    if not plain_request(
        side, quantity, order_type, reason, limit_price=limit_price, stop_price=stop_price
    ):
        return
    fields = {
        "client_order_id": "c1",
        "account": "a",
        "strategy": "s",
        "symbol": "BTC",
        "side": side,
        "quantity": quantity,
        "order_type": order_type,
        "limit_price": limit_price,
        "stop_price": stop_price,
        "reference_price": Decimal(100),
    }
    assert_same(trusted(OrderIntent, fields), OrderIntent.model_validate(fields))


@settings(max_examples=300, deadline=None)
@example(Decimal("1e20"), Decimal(1), Decimal(0), Liquidity.TAKER, "USD")  # beyond storable
@example(Decimal(1), Decimal(1), Decimal("1e21"), Liquidity.MAKER, "USD")
@given(
    price=wide | anything,
    quantity=wide | anything,
    fee=wide | anything,
    liquidity=st.sampled_from(Liquidity) | st.text(max_size=5),
    fee_currency=texts | st.none(),
)
def test_fills_let_through_unvalidated_are_valid(
    price: Any, quantity: Any, fee: Any, liquidity: Any, fee_currency: Any
) -> None:
    report = Filled("o1", "v-o1", "v-f1", price, quantity, fee, fee_currency, liquidity, 0)
    if not plain_fill(report):
        return
    fields = {
        "fill_id": "f1",
        "order_id": "o1",
        "account": "a",
        "strategy": "s",
        "symbol": "BTC",
        "side": Side.BUY,
        "price": price,
        "quantity": quantity,
        "fee": fee,
        "fee_currency": fee_currency,
        "liquidity": liquidity,
        "venue": "SIM",
        "venue_order_id": "v-o1",
        "venue_fill_id": "v-f1",
    }
    try:
        validated = FillRecorded.model_validate(fields)
    except ValidationError as error:
        pytest.fail(f"the fast path admitted an invalid fill: {error}")
    assert_same(trusted(FillRecorded, fields), validated)
