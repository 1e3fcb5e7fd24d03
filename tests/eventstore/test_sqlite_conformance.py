"""The eventsourcing library's own recorder and application test cases, run against our batched
SQLite module, plus what the batching itself must keep: positions, atomicity, conflicts.

Mirrors the library's tests/persistence_tests/test_sqlite.py and
tests/application_tests/test_application_with_sqlite.py, with our recorders and factory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal
from unittest import TestCase
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    InfrastructureFactory,
    IntegrityError,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.tests.application import ApplicationTestCase, ExampleApplicationTestCase
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    tmpfile_uris,
)
from eventsourcing.utils import Environment

from infra.eventstore.factory import open_recorder
from infra.eventstore.sqlite import (
    BatchSQLiteApplicationRecorder,
    BatchSQLiteProcessRecorder,
    Factory,
)


class WithTextOriginatorID:
    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> UUID | str:
        return "order-" + str(uuid4())


class TestAggregateRecorder(AggregateRecorderTestCase):
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def create_recorder(self) -> AggregateRecorder:
        datastore = SQLiteDatastore(":memory:", originator_id_type=self.originator_id_type)
        recorder = Factory.aggregate_recorder_class(datastore)
        recorder.create_table()
        return recorder


class TestAggregateRecorderWithTextOriginatorID(WithTextOriginatorID, TestAggregateRecorder):
    pass


class TestBatchApplicationRecorder(ApplicationRecorderTestCase[BatchSQLiteApplicationRecorder]):
    db_uri = ":memory:"
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def create_recorder(self) -> BatchSQLiteApplicationRecorder:
        datastore = SQLiteDatastore(
            self.db_uri, pool_size=100, originator_id_type=self.originator_id_type
        )
        recorder = BatchSQLiteApplicationRecorder(datastore)
        recorder.min_batch_rows = 1  # the library's cases append a few events at a time
        recorder.create_table()
        return recorder

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:
        self.uris = tmpfile_uris()  # kept: the file is deleted when the generator is
        self.db_uri = next(self.uris)
        super().test_concurrent_no_conflicts()

    def test_concurrent_no_conflicts_in_memory_db(self) -> None:
        self.db_uri = "file::memory:?cache=shared"
        super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        self.uris = tmpfile_uris()
        self.db_uri = next(self.uris)
        super().test_concurrent_throughput()

    def test_concurrent_throughput_in_memory_db(self) -> None:
        self.db_uri = "file::memory:?cache=shared"
        super().test_concurrent_throughput()

    def test_insert_raises_operational_error_if_table_not_created(self) -> None:
        recorder = BatchSQLiteApplicationRecorder(SQLiteDatastore(":memory:"))
        with self.assertRaises(OperationalError):
            recorder.insert_events([StoredEvent(uuid4(), 1, "topic", b"")])


class TestBatchApplicationRecorderWithTextOriginatorID(
    WithTextOriginatorID, TestBatchApplicationRecorder
):
    pass


class TestBatchNonInterleavingNotificationIDs(NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> ApplicationRecorder:
        self.uris = tmpfile_uris()
        recorder = BatchSQLiteApplicationRecorder(SQLiteDatastore(next(self.uris)))
        recorder.min_batch_rows = 1
        recorder.create_table()
        return recorder


class TestBatchProcessRecorder(ProcessRecorderTestCase):
    originator_id_type: Literal["uuid", "text"] = "uuid"

    def create_recorder(self) -> ProcessRecorder:
        datastore = SQLiteDatastore(":memory:", originator_id_type=self.originator_id_type)
        recorder = BatchSQLiteProcessRecorder(datastore)
        recorder.min_batch_rows = 1
        recorder.create_table()
        return recorder


class TestBatchProcessRecorderWithTextOriginatorID(WithTextOriginatorID, TestBatchProcessRecorder):
    pass


class TestFactory(InfrastructureFactoryTestCase[Factory]):
    def setUp(self) -> None:
        self.env = Environment("TestCase")
        self.env[InfrastructureFactory.PERSISTENCE_MODULE] = "infra.eventstore.sqlite"
        self.env[Factory.SQLITE_DBNAME] = ":memory:"
        super().setUp()

    def expected_factory_class(self) -> type[Factory]:
        return Factory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return SQLiteAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return BatchSQLiteApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return SQLiteTrackingRecorder

    class TrackingRecorderSubclass(SQLiteTrackingRecorder):
        pass

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return BatchSQLiteProcessRecorder


class WithSQLiteApplicationEnvironment(TestCase):
    """The library's application tests read persistence settings from ``os.environ``."""

    expected_factory_topic = "infra.eventstore.sqlite:Factory"
    variables = ("PERSISTENCE_MODULE", "SQLITE_DBNAME")

    def setUp(self) -> None:
        super().setUp()
        self.directory = tempfile.TemporaryDirectory()
        self.saved = {name: os.environ.get(name) for name in self.variables}
        os.environ["PERSISTENCE_MODULE"] = "infra.eventstore.sqlite"
        os.environ["SQLITE_DBNAME"] = str(Path(self.directory.name) / "app.db")

    def tearDown(self) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.directory.cleanup()
        super().tearDown()


class TestApplicationWithBatchSQLite(WithSQLiteApplicationEnvironment, ApplicationTestCase):
    pass


class TestExampleApplicationWithBatchSQLite(
    WithSQLiteApplicationEnvironment, ExampleApplicationTestCase
):
    pass


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del ApplicationTestCase
del ExampleApplicationTestCase
del InfrastructureFactoryTestCase
del NonInterleavingNotificationIDsBaseCase
del ProcessRecorderTestCase


# What batching must keep, beyond the library's cases.


@pytest.fixture
def recorder(tmp_path: Path) -> BatchSQLiteApplicationRecorder:
    datastore = SQLiteDatastore(str(tmp_path / "e.db"), originator_id_type="text")
    opened = BatchSQLiteApplicationRecorder(datastore)
    opened.create_table()
    return opened


def events(stream: str, first: int, count: int) -> list[StoredEvent]:
    return [
        StoredEvent(stream, version, "topic", f"{stream}/{version}".encode())
        for version in range(first, first + count)
    ]


def read_back(recorder: BatchSQLiteApplicationRecorder) -> dict[int, bytes]:
    return {n.id: n.state for n in recorder.select_notifications(None, 1_000_000)}


def test_positions_of_a_multi_chunk_batch_are_what_is_read_back(
    recorder: BatchSQLiteApplicationRecorder,
) -> None:
    size = recorder.rows_per_statement * 2 + 7  # three statements, the last one short
    first = recorder.insert_events(events("a", 1, 5))
    second = recorder.insert_events(events("b", 1, size))
    assert list(first or ()) == [1, 2, 3, 4, 5]
    assert list(second or ()) == list(range(6, 6 + size))
    stored = read_back(recorder)
    assert [stored[p] for p in second or ()] == [e.state for e in events("b", 1, size)]
    assert recorder.max_notification_id() == 5 + size


def test_a_batch_above_the_variable_limit_is_split(
    recorder: BatchSQLiteApplicationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder, "rows_per_statement", 10**6)  # only the limit applies now
    size = 32766 // 4 + 3
    positions = recorder.insert_events(events("c", 1, size))
    assert list(positions or ()) == list(range(1, size + 1))
    assert len(read_back(recorder)) == size


def test_one_conflicting_row_inserts_nothing(recorder: BatchSQLiteApplicationRecorder) -> None:
    recorder.insert_events(events("a", 3, 1))
    batch = events("b", 1, recorder.rows_per_statement + 5) + events("a", 2, 3)  # a/3 taken
    with pytest.raises(IntegrityError):
        recorder.insert_events(batch)
    assert list(read_back(recorder)) == [1]
    assert recorder.insert_events(events("b", 1, 2)) == [2, 3]  # nothing left half-done


@pytest.mark.parametrize("size", [1, 64])
def test_a_batch_is_refused_when_sqlite_picks_random_rowids(
    recorder: BatchSQLiteApplicationRecorder, size: int
) -> None:
    """Once rowid 2**63-1 is taken SQLite picks random rowids: the chained log cannot stay
    gapless, so the append is refused and nothing of it is kept."""
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(
            "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state)"
            " VALUES (?, 'top', 1, 'topic', x'00')",
            (2**63 - 1,),
        )
    with pytest.raises(DataError):
        recorder.insert_events(events("r", 1, size))
    assert list(read_back(recorder)) == [2**63 - 1]


def test_sqlite_urls_open_the_batched_recorder(tmp_path: Path) -> None:
    assert isinstance(open_recorder(f"sqlite:///{tmp_path}/e.db"), BatchSQLiteApplicationRecorder)
