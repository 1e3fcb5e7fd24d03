"""A shortened soak with the Redis primary lost: 2 of 4 interruptions SIGKILL the primary
under a running live session (its appends waiting for the replica, ``WAIT``), promote the
replica and restart the session on it; nothing acknowledged is lost, nothing sent twice (see
``tests.live.soak``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.redis_pair import RedisPair
from tests.live.soak import soak

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[RedisPair]:
    servers = RedisPair(tmp_path)
    yield servers
    servers.close()


def test_a_lost_primary_and_killed_sessions_lose_nothing_and_send_nothing_twice(
    pair: RedisPair, tmp_path: Path
) -> None:
    first = pair.primary
    result = soak(pair, tmp_path, kills=2, failovers=2, bars=15)
    assert result.failovers == 2
    assert pair.primary == first  # the roles swapped twice
    assert result.orders_at_exchange > 0
    assert result.reconciliations == result.starts == 5
