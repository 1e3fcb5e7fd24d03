"""Canonical JSON is the standard library's sorted, compact, UTF-8 form of pydantic's JSON dump;
our fast writers must produce exactly those bytes, so any auditor can recompute hashes with
plain Python."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.catalog import (
    OrderIntent,
    PortfolioValued,
    RiskDecisionMade,
    RuleOutcome,
    SignalGenerated,
)
from domain.events.codec import canonical_json, encode, payload_json
from domain.events.envelope import NewEvent
from domain.events.types import OrderType, Side
from tests.fixtures.synthetic import SyntheticLog


def reference(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(json_values)
def test_canonical_json_is_the_standard_library_form(value: Any) -> None:
    assert canonical_json(value) == reference(value)


def test_control_characters_and_non_ascii_are_written_like_the_standard_library() -> None:
    tricky = {"z": "tab\there\nnew\x00nul\x1f\x7f\u2028", "é": "日本", "a": ["\\", '"']}
    assert canonical_json(tricky) == reference(tricky)


def _reference_state(event: NewEvent, recorded_time_us: int) -> bytes:
    payload = event.payload.model_dump(mode="json")
    return reference(
        {
            "actor": event.actor.as_dict(),
            "causation_id": event.causation_id,
            "correlation_id": event.correlation_id,
            "event_id": event.event_id,
            "event_time_us": event.event_time_us,
            "payload": payload,
            "payload_hash": hashlib.sha256(reference(payload)).hexdigest(),
            "recorded_time_us": recorded_time_us,
            "schema_version": event.payload.schema_version,
        }
    )


def test_encoded_state_equals_the_reference_for_every_kind_of_event() -> None:
    events = [event for batch in SyntheticLog(seed=3).batches(600) for event in batch]
    kinds = {type(event.payload).__name__ for event in events}
    assert len(kinds) >= 15
    for event in events:
        assert encode(event, 1_700_000_000_000_000).state == _reference_state(
            event, 1_700_000_000_000_000
        )


# Decimals an event accepts: finite and below 10^20 in size (domain.values.STORED).
finite_decimals = st.decimals(
    min_value=Decimal("-99999999999999999999.999"),
    max_value=Decimal("99999999999999999999.999"),
    allow_nan=False,
    allow_infinity=False,
    places=None,
).filter(lambda d: d.is_finite()) | st.sampled_from(
    [Decimal("1E+3"), Decimal("-0"), Decimal("0E-8"), Decimal("1.10")]
)
positive_decimals = finite_decimals.filter(lambda d: d > 0)
utc_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(
    cash=finite_decimals,
    positions=st.dictionaries(st.text(min_size=1, max_size=8), finite_decimals, max_size=4),
    name=st.text(max_size=12),
)
def test_payload_json_equals_pydantic_json_for_decimals_and_maps(
    cash: Decimal, positions: dict[str, Decimal], name: str
) -> None:
    valued = PortfolioValued(
        run_id=name,
        account="é",
        strategy="s",
        cash=cash,
        positions_value=cash,
        equity=cash,
        realized_pnl=cash,
        unrealized_pnl=cash,
        fees=abs(cash),
        positions=positions,
    )
    assert payload_json(valued) == reference(valued.model_dump(mode="json"))


@settings(max_examples=200)
@given(
    when=utc_times,
    quantity=positive_decimals,
    price=positive_decimals,
    side=st.sampled_from(Side),
    reason=st.text(max_size=20),
    rules=st.lists(st.tuples(st.text(max_size=6), st.booleans(), st.text(max_size=6)), max_size=14),
)
def test_payload_json_equals_pydantic_json_for_times_enums_and_nested_models(
    when: datetime,
    quantity: Decimal,
    price: Decimal,
    side: Side,
    reason: str,
    rules: list[tuple[str, bool, str]],
) -> None:
    signal = SignalGenerated(
        signal_id="s1",
        run_id="r",
        strategy="x",
        symbol="BTC",
        side=side,
        quantity=quantity,
        target_position=-quantity,
        reason=reason,
        bar_time=when,
        bar_close=price,
    )
    assert payload_json(signal) == reference(signal.model_dump(mode="json"))
    intent = OrderIntent(
        client_order_id="c",
        account="a",
        strategy="x",
        symbol="BTC",
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=price,
    )
    decision = RiskDecisionMade(
        decision_id="d",
        intent=intent,
        approved=all(passed for _, passed, _ in rules),
        rules=[RuleOutcome(rule=r, passed=p, value=v, limit=v, detail="") for r, p, v in rules],
        order_id=None,
    )
    assert payload_json(decision) == reference(decision.model_dump(mode="json"))
