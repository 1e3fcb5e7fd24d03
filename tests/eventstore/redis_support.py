"""Helpers for the Redis event store tests: a unique key prefix per test on the machine's Redis."""

from __future__ import annotations

import uuid

import redis

from infra.eventstore.redis import RedisApplicationRecorder
from infra.eventstore.store import EventStore
from tests.services import REDIS_URL, missing_service


def require_redis(url: str = REDIS_URL) -> None:
    """Fail in CI, skip elsewhere, when the machine's Redis does not answer."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        missing_service(f"Redis at {url}")
    finally:
        client.close()


def new_prefix() -> str:
    return f"lhtest-{uuid.uuid4().hex[:12]}"


def delete_prefix(prefix: str, url: str = REDIS_URL) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def recorder_of(store: EventStore) -> RedisApplicationRecorder:
    """The Redis recorder behind ``store`` (its key layout is what these tests look at)."""
    assert isinstance(store.recorder, RedisApplicationRecorder)
    return store.recorder
