"""Redis Streams persistence for eventsourcing: ``PERSISTENCE_MODULE=infra.eventstore.redis``.

Appends are atomic Lua scripts with optimistic concurrency and a gapless global position
(the global stream's entry id); reads of the application sequence follow new events with
blocking ``XREAD``. Positions trimmed after sealing must be read from the archive.
"""

from infra.eventstore.errors import PositionTrimmedError
from infra.eventstore.redis.datastore import RedisDatastore
from infra.eventstore.redis.factory import Factory
from infra.eventstore.redis.recorders import (
    RedisAggregateRecorder,
    RedisApplicationRecorder,
    RedisProcessRecorder,
    RedisTrackingRecorder,
)
from infra.eventstore.redis.subscription import RedisSubscription

__all__ = [
    "Factory",
    "PositionTrimmedError",
    "RedisAggregateRecorder",
    "RedisApplicationRecorder",
    "RedisDatastore",
    "RedisProcessRecorder",
    "RedisSubscription",
    "RedisTrackingRecorder",
]
