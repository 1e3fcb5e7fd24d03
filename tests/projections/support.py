"""Helpers for read-model tests: synthetic logs in SQLite stores, table dumps, the CLI env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from domain.events.envelope import NewEvent, RecordedEvent
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from projections.sql.models import CHECKPOINTS, VIEW_TABLES
from projections.sql.projection import SqlProjection
from tests.fixtures.synthetic import SyntheticLog


def build_log(path: Path, bars: int, *, seed: int = 7) -> str:
    """Append a synthetic log of ``bars`` minutes to a new SQLite store; returns its URL."""
    url = f"sqlite:///{path}"
    store = open_event_store(url)
    try:
        for batch in SyntheticLog(seed=seed).batches(bars):
            store.append(batch)
    finally:
        store.close()
    return url


def synthetic_batches(bars: int, *, seed: int = 7) -> list[list[NewEvent]]:
    """The synthetic log as append batches, to append part now and the rest later."""
    return list(SyntheticLog(seed=seed).batches(bars))


def append_all(store: EventStore, batches: list[list[NewEvent]]) -> None:
    for batch in batches:
        store.append(batch)


def events_of(url: str) -> list[RecordedEvent]:
    store = open_event_store(url)
    try:
        return list(store.read_all())
    finally:
        store.close()


def dump(projection: SqlProjection) -> dict[str, list[tuple[Any, ...]]]:
    """Every view row (and the checkpoint position), ordered by primary key."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with projection.engine.connect() as connection:
        for table in VIEW_TABLES:
            order = list(table.primary_key.columns)
            rows = connection.execute(select(table).order_by(*order)).all()
            tables[table.name] = [tuple(row) for row in rows]
        checkpoints = CHECKPOINTS
        tables["checkpoint"] = [
            tuple(row)
            for row in connection.execute(
                select(checkpoints.c.name, checkpoints.c.position).order_by(checkpoints.c.name)
            )
        ]
    return tables


def apply_in_batches(projection: SqlProjection, events: list[RecordedEvent], size: int) -> None:
    for start in range(0, len(events), size):
        projection.apply(events[start : start + size])
