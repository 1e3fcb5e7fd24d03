"""Follow the global stream with blocking reads (``XREAD BLOCK``), never a polling loop.

The subscription owns one pooled connection while it iterates. ``stop()`` from another
thread wakes a blocked read at once with ``CLIENT UNBLOCK`` on that connection.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from threading import Lock
from typing import Any

import redis
from eventsourcing.persistence import Notification, Subscription

from infra.eventstore.errors import PositionTrimmedError
from infra.eventstore.redis.datastore import translated_errors
from infra.eventstore.redis.recorders import RedisApplicationRecorder

BLOCK_MS = 2_000
BATCH = 500


class RedisSubscription(Subscription[RedisApplicationRecorder]):
    """Notifications after ``gt`` (optionally only ``topics``), then new ones as they land."""

    def __init__(
        self,
        recorder: RedisApplicationRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        super().__init__(recorder, gt=gt, topics=topics)
        self._position = gt or 0
        self._wanted = frozenset(topics)
        self._buffer: deque[Notification] = deque()
        self._connection: Any = None
        self._connection_id: int | None = None
        self._lock = Lock()
        self._checked_floor = False

    def __next__(self) -> Notification:
        while not self._has_been_stopped:
            if self._buffer:
                return self._buffer.popleft()
            self._read()
        self._release()
        raise StopIteration

    def stop(self) -> None:
        super().stop()
        with self._lock:
            connection_id = self._connection_id
        if connection_id is not None:
            # If this fails, the blocked read still ends within BLOCK_MS.
            with suppress(redis.RedisError):
                self._recorder.datastore.client.client_unblock(connection_id)

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        super().__exit__(*args, **kwargs)
        self._release()

    def _read(self) -> None:
        recorder = self._recorder
        if not self._checked_floor:
            # Raises PositionTrimmedError when positions after ``gt`` were trimmed.
            recorder.select_notifications(self._position, 1, inclusive_of_start=False)
            self._checked_floor = True
        connection = self._acquire()
        with translated_errors():
            try:
                connection.send_command(
                    "XREAD",
                    "COUNT",
                    BATCH,
                    "BLOCK",
                    BLOCK_MS,
                    "STREAMS",
                    recorder.keys.log,
                    f"{self._position}-0",
                )
                reply = connection.read_response()
            except BaseException:
                connection.disconnect()
                raise
        if not reply:
            return  # Timed out or unblocked by stop().
        # RESP3 replies with a map of stream -> entries, RESP2 with a list of pairs.
        entries = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        for entry_id, flat in entries:
            fields = dict(zip(flat[::2], flat[1::2], strict=True))
            notification = recorder._notification((entry_id, fields))
            if notification.id != self._position + 1:
                # Positions are gapless, so a jump means a trim overtook this subscriber.
                raise PositionTrimmedError(
                    f"positions {self._position + 1}..{notification.id - 1} were trimmed from "
                    "Redis while this subscription lagged; read them from the archive"
                )
            self._position = notification.id
            if not self._wanted or notification.topic in self._wanted:
                self._buffer.append(notification)

    def _acquire(self) -> Any:
        if self._connection is None:
            pool: Any = self._recorder.datastore.pool
            connection = pool.get_connection()
            with translated_errors():
                connection.send_command("CLIENT", "ID")
                connection_id = int(connection.read_response())
            with self._lock:
                self._connection = connection
                self._connection_id = connection_id
        return self._connection

    def _release(self) -> None:
        with self._lock:
            connection, self._connection, self._connection_id = self._connection, None, None
        if connection is not None:
            pool: Any = self._recorder.datastore.pool
            pool.release(connection)
