"""One chDB analytics database per test module, filled from the synthetic log.

chDB hosts one engine path per process, so each module opens its path once and closes it
before the next module runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from domain.events.envelope import RecordedEvent
from projections.clickhouse import ClickHouseProjection
from tests.analytics.support import chunks, synthetic_events

BARS = 2_000  # two UTC days (the second partial), ~28,000 events


@dataclass
class Analytics:
    url: str
    client: Any
    events: tuple[RecordedEvent, ...]


@pytest.fixture(scope="module")
def analytics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analytics]:
    url = f"chdb://{tmp_path_factory.mktemp('analytics') / 'chdb'}"
    events = synthetic_events(BARS)
    projection = ClickHouseProjection.open(url)
    for batch in chunks(events, 5_000):
        projection.apply(batch)
    yield Analytics(url, projection.client, events)
    projection.close()
