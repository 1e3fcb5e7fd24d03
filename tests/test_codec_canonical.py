"""Canonical JSON is the standard library's sorted, compact, UTF-8 form; our fast writer must
produce exactly those bytes, so any auditor can recompute hashes with plain Python."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events.codec import canonical_json, encode
from domain.events.envelope import NewEvent
from domain.synthetic import SyntheticLog


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
