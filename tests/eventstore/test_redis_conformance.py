"""The eventsourcing library's own recorder and application test cases, run against our Redis
Streams module on a real Redis (a fresh key prefix per test, deleted afterwards).

Mirrors how the library tests its SQLite and PostgreSQL modules
(tests/persistence_tests/test_sqlite.py, tests/application_tests/test_application_with_sqlite.py).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from threading import Thread
from typing import Literal
from unittest import TestCase
from uuid import UUID, uuid4

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    DataError,
    ProcessRecorder,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.tests.application import ApplicationTestCase, ExampleApplicationTestCase
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
    InfrastructureFactoryTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from infra.eventstore.redis import (
    Factory,
    RedisAggregateRecorder,
    RedisApplicationRecorder,
    RedisDatastore,
    RedisProcessRecorder,
    RedisTrackingRecorder,
)
from tests.eventstore.redis_support import delete_prefix, new_prefix, require_redis
from tests.services import REDIS_URL


class WithRedis(TestCase):
    """A datastore on the machine's Redis under a key prefix no other test uses."""

    originator_id_type: Literal["uuid", "text"] = "uuid"

    def setUp(self) -> None:
        super().setUp()
        require_redis()
        self.prefix = new_prefix()
        self.datastore = RedisDatastore(
            REDIS_URL, key_prefix=self.prefix, originator_id_type=self.originator_id_type
        )

    def tearDown(self) -> None:
        self.datastore.close()
        delete_prefix(self.prefix)
        super().tearDown()


class WithTextOriginatorID:
    originator_id_type: Literal["uuid", "text"] = "text"

    def new_originator_id(self) -> UUID | str:
        return "order-" + str(uuid4())


class TestRedisAggregateRecorder(WithRedis, AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return RedisAggregateRecorder(self.datastore, purpose="snapshots")


class TestRedisAggregateRecorderWithTextOriginatorID(
    WithTextOriginatorID, TestRedisAggregateRecorder
):
    pass


class TestRedisApplicationRecorder(
    WithRedis, ApplicationRecorderTestCase[RedisApplicationRecorder]
):
    def create_recorder(self) -> RedisApplicationRecorder:
        return RedisApplicationRecorder(self.datastore)

    def test_insert_subscribe(self) -> None:
        super().optional_test_insert_subscribe()

    def test_select_notifications_never_uses_negative_positions(self) -> None:
        recorder = self.create_recorder()
        recorder.insert_events(
            [
                StoredEvent(self.new_originator_id(), 1, "topic1", b"state1"),
                StoredEvent(self.new_originator_id(), 1, "topic2", b"state2"),
            ]
        )
        self.assertEqual(len(recorder.select_notifications(0, 10)), 2)
        self.assertEqual(len(recorder.select_notifications(-1, 10)), 2)

    def test_subscribe_concurrent_reading_and_writing(self) -> None:
        recorder = self.create_recorder()
        batches, batch_size = 20, 100

        def write() -> None:
            for _ in range(batches):
                recorder.insert_events(
                    [
                        StoredEvent(self.new_originator_id(), 1, "topic1", b"state1")
                        for _ in range(batch_size)
                    ]
                )

        def read(after: int | None) -> list[int]:
            ids: list[int] = []
            with recorder.subscribe(after) as subscription:
                for notification in subscription:
                    ids.append(notification.id)
                    if len(ids) == batches * batch_size:
                        break
            return ids

        with ThreadPoolExecutor(max_workers=2) as pool:
            reader = pool.submit(read, recorder.max_notification_id())
            pool.submit(write).result()
            self.assertEqual(reader.result(), list(range(1, batches * batch_size + 1)))

    def test_state_is_binary_safe(self) -> None:
        recorder = self.create_recorder()
        state = bytes(range(256)) * 4
        originator_id = self.new_originator_id()
        recorder.insert_events([StoredEvent(originator_id, 1, "topic", state)])
        self.assertEqual(recorder.select_events(originator_id)[0].state, state)
        self.assertEqual(recorder.select_notifications(None, 1)[0].state, state)

    def test_a_bad_version_is_a_data_error_and_nothing_is_written(self) -> None:
        recorder = self.create_recorder()
        originator_id = self.new_originator_id()
        for version in (-1, 2**53 + 1):
            with self.assertRaisesRegex(DataError, "is not an integer from 0"):
                recorder.insert_events(
                    [
                        StoredEvent(originator_id, 1, "topic", b"ok"),
                        StoredEvent(originator_id, version, "topic", b"bad"),
                    ]
                )
        self.assertIsNone(recorder.max_notification_id())
        self.assertEqual(recorder.select_events(originator_id), [])

    def test_stop_from_another_thread_ends_a_blocked_subscription(self) -> None:
        recorder = self.create_recorder()
        received: list[int] = []
        subscription = recorder.subscribe(gt=None)

        def consume() -> None:
            with subscription:
                received.extend(notification.id for notification in subscription)

        consumer = Thread(target=consume)
        consumer.start()
        recorder.insert_events([StoredEvent(self.new_originator_id(), 1, "topic", b"s")])
        while not received:  # Let the consumer take the event, then block for more.
            consumer.join(0.01)
        subscription.stop()  # The consumer is now blocked in XREAD; CLIENT UNBLOCK wakes it.
        consumer.join(timeout=30)
        self.assertFalse(consumer.is_alive())
        self.assertEqual(received, [1])


class TestRedisApplicationRecorderWithTextOriginatorID(
    WithTextOriginatorID, TestRedisApplicationRecorder
):
    pass


class TestRedisNonInterleavingNotificationIDs(WithRedis, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> ApplicationRecorder:
        return RedisApplicationRecorder(self.datastore)


class TestRedisTrackingRecorder(WithRedis, TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return RedisTrackingRecorder(self.datastore)


class TestRedisProcessRecorder(WithRedis, ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return RedisProcessRecorder(self.datastore)


class TestRedisProcessRecorderWithTextOriginatorID(WithTextOriginatorID, TestRedisProcessRecorder):
    pass


class TestRedisInfrastructureFactory(InfrastructureFactoryTestCase[Factory]):
    def setUp(self) -> None:
        require_redis()
        self.prefix = new_prefix()
        self.env = Environment("TestCase")
        self.env["PERSISTENCE_MODULE"] = "infra.eventstore.redis"
        self.env["REDIS_URL"] = REDIS_URL
        self.env["REDIS_KEY_PREFIX"] = self.prefix
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        delete_prefix(self.prefix)

    def expected_factory_class(self) -> type[Factory]:
        return Factory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return RedisAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return RedisApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return RedisTrackingRecorder

    class RedisTrackingRecorderSubclass(RedisTrackingRecorder):
        pass

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return self.RedisTrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return RedisProcessRecorder

    def test_missing_url_is_a_clear_error(self) -> None:
        with self.assertRaisesRegex(OSError, "REDIS_URL"):
            Factory(Environment("TestCase", {"PERSISTENCE_MODULE": "infra.eventstore.redis"}))


class WithRedisApplicationEnvironment(TestCase):
    """The library's application tests read persistence settings from ``os.environ``."""

    expected_factory_topic = "infra.eventstore.redis.factory:Factory"
    variables = ("PERSISTENCE_MODULE", "REDIS_URL", "REDIS_KEY_PREFIX")

    def setUp(self) -> None:
        super().setUp()
        require_redis()
        self.prefix = new_prefix()
        self.saved = {name: os.environ.get(name) for name in self.variables}
        os.environ["PERSISTENCE_MODULE"] = "infra.eventstore.redis"
        os.environ["REDIS_URL"] = REDIS_URL
        os.environ["REDIS_KEY_PREFIX"] = self.prefix

    def tearDown(self) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        delete_prefix(self.prefix)
        super().tearDown()


class TestApplicationWithRedis(WithRedisApplicationEnvironment, ApplicationTestCase):
    pass


class TestExampleApplicationWithRedis(WithRedisApplicationEnvironment, ExampleApplicationTestCase):
    pass


del AggregateRecorderTestCase
del ApplicationRecorderTestCase
del ApplicationTestCase
del ExampleApplicationTestCase
del InfrastructureFactoryTestCase
del NonInterleavingNotificationIDsBaseCase
del ProcessRecorderTestCase
del TrackingRecorderTestCase
