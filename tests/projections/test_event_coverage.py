"""Every read model decides on every event class of the catalog: handled or ignored, never both.

A class added to the catalog and to no read model's sets must fail here, and the read models
themselves must refuse to start with it (or to fold an event of it) rather than skip it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.events.base import DomainEvent, all_event_classes
from domain.events.catalog import BarClosed, FillRecorded
from domain.events.envelope import NewEvent, RecordedEvent
from infra.eventstore.factory import open_event_store
from projections.clickhouse import ClickHouseProjection
from projections.clickhouse.rows import ROUTES as CLICKHOUSE
from projections.dispatch import EventRoutes, UnroutedEventError
from projections.objectstore import ObjectStoreProjection
from projections.objectstore.snapshots import ROUTES as OBJECTSTORE
from projections.queries.state import ROUTES as LOG_STATE
from projections.queries.state import LogState
from projections.sql.fold import ROUTES as SQL
from projections.sql.projection import SqlProjection

READ_MODELS = [SQL, CLICKHOUSE, OBJECTSTORE, LOG_STATE]
PROBE = "CoverageProbeRecorded"


@pytest.fixture
def probe_class() -> Iterator[type[DomainEvent]]:
    """A new event class in the catalog's registry, in no read model's sets (this test only)."""

    class CoverageProbeRecorded(DomainEvent):
        """A fact no read model has decided on."""

        note: str

    try:
        yield CoverageProbeRecorded
    finally:
        del DomainEvent._registry[PROBE]


@pytest.mark.parametrize("routes", READ_MODELS, ids=lambda routes: routes.read_model)
def test_every_catalog_class_is_handled_or_ignored_and_not_both(routes: EventRoutes[Any]) -> None:
    catalog = set(all_event_classes().values())
    assert routes.unrouted() == []
    assert not routes.handled.keys() & routes.ignored
    assert set(routes.table) <= catalog  # nothing stale: every decision names a catalog class
    routes.check()


@pytest.mark.parametrize("routes", READ_MODELS, ids=lambda routes: routes.read_model)
def test_a_class_added_to_the_catalog_and_to_no_set_is_caught(
    routes: EventRoutes[Any], probe_class: type[DomainEvent]
) -> None:
    assert routes.unrouted() == [PROBE]
    with pytest.raises(UnroutedEventError, match=PROBE):
        routes.check()


def test_a_class_both_handled_and_ignored_is_refused() -> None:
    with pytest.raises(ValueError, match="both handles and ignores FillRecorded"):
        EventRoutes("probe", {FillRecorded: "fills", BarClosed: "bars"}, frozenset({FillRecorded}))


def _open_all(tmp_path: Path) -> list[Any]:
    return [
        SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}"),
        ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}"),
        ObjectStoreProjection.open(f"file://{tmp_path / 'objects'}"),
    ]


def test_read_models_refuse_to_start_with_an_undecided_class(
    tmp_path: Path, probe_class: type[DomainEvent]
) -> None:
    with pytest.raises(UnroutedEventError, match=PROBE):
        SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    with pytest.raises(UnroutedEventError, match=PROBE):
        ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    with pytest.raises(UnroutedEventError, match=PROBE):
        ObjectStoreProjection.open(f"file://{tmp_path / 'objects'}")
    with pytest.raises(UnroutedEventError, match=PROBE):
        LogState()


def _recorded_probe(tmp_path: Path, probe_class: type[DomainEvent]) -> RecordedEvent:
    """An event of the probe class, written to a real event store and read back."""
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    try:
        store.append([NewEvent("probe-1", 1, probe_class(note="new fact"), "evt-probe-1", 0)])
        [event] = store.read_all()
    finally:
        store.close()
    return event


def test_an_event_of_an_undecided_class_stops_each_read_model_unapplied(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened = _open_all(tmp_path)  # started while every class was decided on
    state = LogState()
    try:
        probe_class = request.getfixturevalue("probe_class")
        event = _recorded_probe(tmp_path, probe_class)
        assert event.event_class is probe_class
        for projection in opened:
            with pytest.raises(UnroutedEventError, match=f"{PROBE} \\(event at position 1\\)"):
                projection.apply([event])
            assert projection.checkpoint() == 0
        with pytest.raises(UnroutedEventError, match=PROBE):
            state.apply(event)
        assert state.head == 0
    finally:
        for projection in opened:
            projection.close()
