"""Fixtures for the SQL read model: one synthetic log per session, a read model per backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.events.envelope import RecordedEvent
from projections.sql.projection import SqlProjection
from tests.projections.support import build_log, events_of

SMALL_BARS = 400  # ~5,600 events: two runs, a drill (limit change, kill switch), no midnight


@pytest.fixture(scope="session")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A read-only SQLite event store shared by the session (copy it before appending)."""
    return build_log(tmp_path_factory.mktemp("log") / "events.sqlite", SMALL_BARS)


@pytest.fixture(scope="session")
def small_events(small_log: str) -> list[RecordedEvent]:
    return events_of(small_log)


@pytest.fixture(params=["sqlite", "mysql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty read-model database: SQLite file or MariaDB database."""
    if request.param == "mysql":
        return str(request.getfixturevalue("mysql_url"))
    return f"sqlite:///{tmp_path / 'readmodel.sqlite'}"


@pytest.fixture
def projection(sql_url: str) -> Iterator[SqlProjection]:
    opened = SqlProjection.open(sql_url)
    yield opened
    opened.close()
