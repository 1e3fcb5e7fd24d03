"""Archive fixtures: event stores filled from the synthetic log, and object stores (local, S3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import Notification

from adapters.objectstore import LocalObjectStore
from adapters.objectstore.s3 import S3ObjectStore
from domain.events.envelope import NewEvent
from infra.archive import Archive
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.fixtures.synthetic import SyntheticLog


class Feed:
    """The synthetic log, appended a few bars at a time (the same log can keep growing)."""

    def __init__(self, store: EventStore, bars: int = 400) -> None:
        self.store = store
        self._batches: Iterator[list[NewEvent]] = SyntheticLog().batches(bars)

    def append_until(self, head: int) -> int:
        """Append whole batches until the store's head reaches ``head`` (or the log ends)."""
        for batch in self._batches:
            self.store.append(batch)
            if self.store.head() >= head:
                break
        return self.store.head()


def all_records(store: EventStore) -> list[Notification]:
    return [record for page in store.read_notifications(0, batch_size=5_000) for record in page]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[EventStore]:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def redis_store(redis_url: str, redis_prefix: str) -> Iterator[EventStore]:
    store = open_event_store(redis_url, key_prefix=redis_prefix)
    yield store
    store.close()


@pytest.fixture
def local_archive(tmp_path: Path) -> Archive:
    return Archive(LocalObjectStore(tmp_path / "objects"), "lh")


@pytest.fixture
def s3_archive(s3_url: str) -> Archive:
    return Archive(S3ObjectStore.from_url(s3_url), "lh")
