"""The ClickHouse fact rows: the same log stores the same bytes, and payload gaps behave as before.

The digest was taken with the per-event row extractors (before the columns were built from
Arrow structs, 2026-12-07); the rows stored for the same log must not change by a byte. If the
synthetic log itself changes, recompute it with the code of the commit before yours.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.events.catalog import BarClosed, OrderAccepted, OrderSubmitted
from domain.events.envelope import RecordedEvent
from projections.clickhouse import ClickHouseProjection
from projections.clickhouse.rows import build_tables
from projections.clickhouse.schema import FACT_TABLES
from tests.analytics.support import chunks, synthetic_events

ROWS_DIGEST = "084399cf8b17e5b64c78008a918c9c45d3b71789b06600bab4350ff02a6fca51"


@pytest.fixture
def projection(tmp_path: Path) -> Iterator[ClickHouseProjection]:
    opened = ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    yield opened
    opened.close()


def stored_bytes(projection: ClickHouseProjection, table: str) -> bytes:
    query = f"SELECT * FROM {table} FINAL ORDER BY position FORMAT RowBinary"
    data: bytes = projection.client.raw_query(query)
    return data


def test_the_same_log_stores_byte_identical_rows(projection: ClickHouseProjection) -> None:
    for batch in chunks(synthetic_events(400), 1_000):
        projection.apply(batch)

    digest = hashlib.sha256()
    for table in FACT_TABLES:
        digest.update(table.encode())
        digest.update(stored_bytes(projection, table))
    assert digest.hexdigest() == ROWS_DIGEST


def _first(events: tuple[RecordedEvent, ...], kind: type) -> RecordedEvent:
    return next(event for event in events if event.event_class is kind)


def test_a_payload_without_a_required_field_is_refused() -> None:
    bar = _first(synthetic_events(5), BarClosed)
    broken = dataclasses.replace(bar, data={k: v for k, v in bar.data.items() if k != "close"})

    with pytest.raises(KeyError, match="close"):
        build_tables([broken])


def test_missing_and_none_order_fields_store_the_defaults(
    projection: ClickHouseProjection,
) -> None:
    events = synthetic_events(5)
    submitted = _first(events, OrderSubmitted)
    accepted = _first(events, OrderAccepted)
    blank = dataclasses.replace(submitted, data={**submitted.data, "venue": None, "side": None})
    projection.apply(sorted([blank, accepted], key=lambda event: event.position))

    rows = projection.client.query(
        "SELECT position, kind, side, venue, quantity, filled_quantity, average_price "
        "FROM order_events ORDER BY position"
    ).result_rows
    by_kind = {row[1]: row for row in rows}
    assert by_kind["OrderSubmitted"][2:4] == ("", "")
    assert by_kind["OrderAccepted"][2:] == ("", "", 0, 0, None)  # every key but order_id missing
