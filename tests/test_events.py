"""The event contract: exact decimals, refusal of bad values, canonical bytes, upcasting."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import Notification
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.events.base import UnknownEventTypeError, all_event_classes, event_class, upcast
from domain.events.catalog import AccountFunded, FillRecorded, OrderSubmitted
from domain.events.codec import CorruptEventError, canonical_json, decode, encode, payload_hash
from domain.events.envelope import Actor, NewEvent, from_microseconds, to_microseconds
from domain.events.types import ActorKind

FILL = {
    "fill_id": "f-1",
    "order_id": "o-1",
    "account": "a",
    "strategy": "sma_cross",
    "symbol": "BTCUSDT",
    "side": "BUY",
    "price": "42000.10",
    "quantity": "0.5",
    "fee": "21.00005",
    "fee_currency": "USD",
    "liquidity": "TAKER",
    "venue": "SIM",
    "venue_order_id": "v-1",
    "venue_fill_id": "vf-1",
}


def test_prices_are_exact_decimals_and_floats_are_read_as_typed() -> None:
    fill = FillRecorded.model_validate({**FILL, "price": 0.1})
    assert fill.price == Decimal("0.1")
    assert fill.model_dump(mode="json")["price"] == "0.1"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-1", "0", float("nan"), "abc"])
def test_bad_prices_are_refused_with_the_field_named(bad: object) -> None:
    with pytest.raises(ValidationError, match="price"):
        FillRecorded.model_validate({**FILL, "price": bad})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="colour"):
        FillRecorded.model_validate({**FILL, "colour": "red"})


def test_every_event_type_is_registered_once_and_named_in_the_past_tense() -> None:
    classes = all_event_classes()
    assert len(classes) >= 23
    for name in classes:
        assert name.endswith(("ed", "Made", "Generated", "Closed", "Valued")), name
    with pytest.raises(UnknownEventTypeError):
        event_class("OrderTeleported")


def _recorded(payload: object, version: int = 1) -> NewEvent:
    assert isinstance(payload, OrderSubmitted | FillRecorded | AccountFunded)
    return NewEvent(
        "order-o-1",
        version,
        payload,
        f"e-{version}",
        1_700_000_000_000_001,
        Actor(ActorKind.STRATEGY, "sma_cross", "a"),
        "cause",
        "corr",
    )


def test_encode_decode_round_trip_keeps_the_envelope() -> None:
    fill = FillRecorded.model_validate(FILL)
    stored = encode(_recorded(fill), recorded_time_us=1_700_000_000_000_999)
    event = decode(Notification(id=42, **vars(stored)), verify=True)
    assert event.payload == fill
    assert (event.position, event.stream_id, event.stream_version) == (42, "order-o-1", 1)
    assert event.causation_id == "cause" and event.correlation_id == "corr"
    assert event.actor == Actor(ActorKind.STRATEGY, "sma_cross", "a")
    assert event.event_time_us == 1_700_000_000_000_001
    assert event.payload_hash == payload_hash(fill.model_dump(mode="json"))


def test_the_same_event_always_encodes_to_the_same_bytes() -> None:
    first = encode(_recorded(FillRecorded.model_validate(FILL)), 5)
    again = encode(_recorded(FillRecorded.model_validate(dict(reversed(FILL.items())))), 5)
    assert first.state == again.state


def test_a_flipped_payload_byte_fails_the_hash_check() -> None:
    stored = encode(_recorded(FillRecorded.model_validate(FILL)), 5)
    tampered = stored.state.replace(b'"0.5"', b'"0.6"')
    with pytest.raises(CorruptEventError, match="position 9"):
        decode(
            Notification(
                id=9,
                originator_id=stored.originator_id,
                originator_version=1,
                topic=stored.topic,
                state=tampered,
            ),
            verify=True,
        )


def test_garbage_state_is_a_corrupt_event_error() -> None:
    with pytest.raises(CorruptEventError, match="position 3"):
        decode(
            Notification(
                id=3,
                originator_id="x",
                originator_version=1,
                topic="FillRecorded",
                state=b"{not json",
            )
        )


def test_fill_recorded_v1_is_upcast_on_read_and_its_stored_hash_still_verifies() -> None:
    v1_payload = {
        key: value for key, value in FILL.items() if key not in ("fee", "fee_currency", "liquidity")
    } | {"commission": "1.25"}
    state = canonical_json(
        {
            "actor": {"kind": "venue", "name": "SIM", "account": "a"},
            "causation_id": None,
            "correlation_id": None,
            "event_id": "legacy-1",
            "event_time_us": 1,
            "recorded_time_us": 2,
            "payload": v1_payload,
            "payload_hash": payload_hash(v1_payload),
            "schema_version": 1,
        }
    )
    event = decode(
        Notification(
            id=1, originator_id="order-o-1", originator_version=1, topic="FillRecorded", state=state
        ),
        verify=True,
    )
    assert event.stored_schema_version == 1
    fill = event.payload
    assert isinstance(fill, FillRecorded)
    assert fill.fee == Decimal("1.25") and fill.fee_currency == "USD"


def test_a_payload_from_a_newer_build_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="newer build"):
        upcast("FillRecorded", 3, dict(FILL))


@given(st.integers(min_value=0, max_value=4_102_444_800_000_000))
def test_microsecond_times_round_trip(micros: int) -> None:
    assert to_microseconds(from_microseconds(micros)) == micros


@given(st.integers(min_value=-62_135_596_800_000_000, max_value=253_402_300_799_999_999))
def test_microsecond_times_are_the_utc_calendar_times(micros: int) -> None:
    seconds, fraction = divmod(micros, 1_000_000)
    expected = datetime.fromtimestamp(seconds, UTC).replace(microsecond=fraction)
    moment = from_microseconds(micros)
    assert moment == expected and moment.tzinfo is UTC
    assert moment.isoformat() == expected.isoformat()
