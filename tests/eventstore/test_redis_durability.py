"""Acknowledged events survive SIGKILL of a Redis running AOF ``appendfsync always``;
live trading refuses a Redis that persists nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from infra.eventstore.durability import read_persistence, require_durable
from infra.eventstore.errors import UnsafeEventStoreError
from infra.eventstore.factory import open_event_store
from tests.services import RedisServer, redis_with_aof

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 2_000
BATCH = 10
KILL_AFTER = 700


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """Our own redis-server with AOF ``appendfsync always`` in a temp dir, on a free port."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with redis_with_aof(directory, "always") as server:
        yield server


@pytest.mark.crash
@pytest.mark.services
def test_every_acknowledged_event_survives_sigkill_of_redis(aof_redis: RedisServer) -> None:
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.eventstore.durability_writer",
            aof_redis.url,
            "crash",
            str(EVENTS),
            str(BATCH),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert writer.stdout is not None
    acknowledged: dict[int, str] = {}
    for line in writer.stdout:
        position, digest = line.split()
        acknowledged[int(position)] = digest
        if len(acknowledged) == KILL_AFTER:
            aof_redis.kill()  # SIGKILL mid-stream: the writer is still appending.
            break
    acknowledged.update(
        (int(position), digest) for position, digest in (line.split() for line in writer.stdout)
    )
    writer.wait(30)
    assert writer.returncode != 0, "the writer should have lost its Redis mid-stream"
    assert KILL_AFTER <= len(acknowledged) < EVENTS

    aof_redis.start()  # Same directory: Redis replays its append-only file.
    store = open_event_store(aof_redis.url, key_prefix="crash")
    recovered = list(store.read_all())
    store.close()

    positions = [event.position for event in recovered]
    assert positions == list(range(1, len(recovered) + 1)), "positions must stay gapless"
    assert [event.stream_version for event in recovered] == positions
    assert len(recovered) >= max(acknowledged)
    for event in recovered:
        if event.position in acknowledged:
            assert hashlib.sha256(event.state).hexdigest() == acknowledged[event.position]
    assert set(acknowledged) <= set(positions)


@pytest.mark.services
def test_require_durable_refuses_redis_that_persists_nothing(redis_url: str) -> None:
    settings = read_persistence(redis_url)
    if settings.aof:
        pytest.skip(f"the shared Redis at {redis_url} has AOF on; this test needs one without")
    with pytest.raises(UnsafeEventStoreError, match="appendonly no") as caught:
        require_durable(redis_url)
    message = str(caught.value)
    assert redis_url in message
    assert "CONFIG SET appendonly yes" in message
    assert "appendfsync always" in message
    with pytest.raises(UnsafeEventStoreError):
        open_event_store(redis_url, key_prefix="never-opened", live=True)


@pytest.mark.services
def test_require_durable_accepts_aof_always(aof_redis: RedisServer) -> None:
    settings = require_durable(aof_redis.url)
    assert settings.aof
    assert settings.fsync == "always"
    assert not settings.persists_nothing
    assert settings.exposure.startswith("none")
    open_event_store(aof_redis.url, key_prefix="live", live=True).close()


@pytest.mark.services
def test_cli_durability_exits_non_zero_without_aof(
    aof_redis: RedisServer, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("LH_EVENT_STORE", aof_redis.url)
    result = runner.invoke(app, ["store", "durability"])
    assert result.exit_code == 0, result.output
    assert "always" in result.output
    if read_persistence(redis_url).aof:
        return
    monkeypatch.setenv("LH_EVENT_STORE", redis_url)
    result = runner.invoke(app, ["store", "durability"])
    assert result.exit_code == 1
    assert "persists nothing" in result.output
