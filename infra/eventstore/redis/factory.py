"""The eventsourcing ``Factory`` for ``PERSISTENCE_MODULE=infra.eventstore.redis``.

Environment: ``REDIS_URL`` (required, ``redis://host:port/db``), ``REDIS_KEY_PREFIX``
(default ``eventsourcing``; lets several stores share one server), ``ORIGINATOR_ID_TYPE``
(``uuid`` or ``text``, as for the library's SQLite and PostgreSQL modules),
``REDIS_MAX_CONNECTIONS`` (pool size, default 64) and ``REDIS_WAIT_REPLICAS`` /
``REDIS_WAIT_TIMEOUT_MS`` (each append counts as stored only once that many replicas confirm
it, ``WAIT``; default 0 and 1000; also read from ``LH_REDIS_WAIT_REPLICAS`` /
``LH_REDIS_WAIT_TIMEOUT_MS`` in the process environment).
"""

from __future__ import annotations

import os
from typing import cast

from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic

from infra.eventstore.redis.datastore import OriginatorIdType, RedisDatastore
from infra.eventstore.redis.recorders import (
    RedisAggregateRecorder,
    RedisApplicationRecorder,
    RedisProcessRecorder,
    RedisTrackingRecorder,
)


class Factory(InfrastructureFactory[RedisTrackingRecorder]):
    """Builds Redis recorders that share one connection pool."""

    REDIS_URL = "REDIS_URL"
    REDIS_KEY_PREFIX = "REDIS_KEY_PREFIX"
    REDIS_MAX_CONNECTIONS = "REDIS_MAX_CONNECTIONS"
    ORIGINATOR_ID_TYPE = "ORIGINATOR_ID_TYPE"
    REDIS_WAIT_REPLICAS = "REDIS_WAIT_REPLICAS"
    REDIS_WAIT_TIMEOUT_MS = "REDIS_WAIT_TIMEOUT_MS"

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        url = self.env.get(self.REDIS_URL)
        if not url:
            keys = ", ".join(self.env.create_keys(self.REDIS_URL))
            raise OSError(
                f"Redis URL not found in environment with keys: {keys} "
                "(for example REDIS_URL=redis://127.0.0.1:6379/0)"
            )
        id_type = (self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid").lower()
        if id_type not in ("uuid", "text"):
            raise OSError(
                f"Invalid {self.ORIGINATOR_ID_TYPE} '{id_type}', must be 'uuid' or 'text'"
            )
        max_connections_text = self.env.get(self.REDIS_MAX_CONNECTIONS) or "64"
        try:
            max_connections = int(max_connections_text)
        except ValueError:
            raise OSError(
                f"{self.REDIS_MAX_CONNECTIONS}={max_connections_text!r} is not an integer"
            ) from None
        self.datastore = RedisDatastore(
            url,
            key_prefix=self.env.get(self.REDIS_KEY_PREFIX) or "eventsourcing",
            originator_id_type=cast(OriginatorIdType, id_type),
            max_connections=max_connections,
            wait_replicas=self._count(self.REDIS_WAIT_REPLICAS, "0", minimum=0),
            wait_timeout_ms=self._count(self.REDIS_WAIT_TIMEOUT_MS, "1000", minimum=1),
        )

    def _count(self, key: str, default: str, *, minimum: int) -> int:
        """An integer setting from the factory's environment or ``LH_<key>`` in the process's."""
        text = self.env.get(key) or os.environ.get(f"LH_{key}") or default
        try:
            value = int(text)
        except ValueError:
            raise OSError(f"{key}={text!r} is not an integer") from None
        if value < minimum:
            raise OSError(f"{key}={value} must be at least {minimum}")
        return value

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return RedisAggregateRecorder(self.datastore, application=self.env.name, purpose=purpose)

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        recorder_class: type[RedisApplicationRecorder] = (
            resolve_topic(topic) if topic else RedisApplicationRecorder
        )
        if not issubclass(recorder_class, RedisApplicationRecorder):
            raise TypeError(f"{topic} is not a RedisApplicationRecorder")
        return recorder_class(self.datastore, application=self.env.name)

    def tracking_recorder(
        self, tracking_recorder_class: type[RedisTrackingRecorder] | None = None
    ) -> RedisTrackingRecorder:
        if tracking_recorder_class is None:
            topic = self.env.get(self.TRACKING_RECORDER_TOPIC)
            tracking_recorder_class = resolve_topic(topic) if topic else RedisTrackingRecorder
        if not issubclass(tracking_recorder_class, RedisTrackingRecorder):
            raise TypeError(f"{tracking_recorder_class} is not a RedisTrackingRecorder")
        return tracking_recorder_class(self.datastore, application=self.env.name)

    def process_recorder(self) -> ProcessRecorder:
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        recorder_class: type[RedisProcessRecorder] = (
            resolve_topic(topic) if topic else RedisProcessRecorder
        )
        if not issubclass(recorder_class, RedisProcessRecorder):
            raise TypeError(f"{topic} is not a RedisProcessRecorder")
        return recorder_class(self.datastore, application=self.env.name)

    def close(self) -> None:
        self.datastore.close()
