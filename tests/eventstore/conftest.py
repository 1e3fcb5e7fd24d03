"""Fixtures shared by the event store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test's Redis, for looking at (or tampering with) its keys."""
    opened = redis.Redis.from_url(redis_url)
    yield opened
    opened.close()
