"""The live log's hash chain, committed with each append on SQLite and Redis (issue 10)."""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from api.cli import app
from infra.eventstore.factory import open_event_store
from infra.eventstore.redis.datastore import EventKeys
from infra.eventstore.store import EventStore
from tests.eventstore.events import venue_event
from tests.services import REDIS_URL

BACKENDS = ["sqlite", "redis"]


def store_url(backend: str, directory: Path) -> str:
    return f"sqlite:///{directory / 'events.sqlite'}" if backend == "sqlite" else REDIS_URL


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, key prefix) of an empty store on each backend."""
    prefix = request.getfixturevalue("redis_prefix") if request.param == "redis" else "lh"
    yield store_url(request.param, tmp_path), prefix


def recomputed(store: EventStore) -> list[tuple[int, bytes]]:
    """The chain an auditor computes from the stored records alone, with the standard library
    and the formula of domain/events/chain.py's docstring (not our code)."""
    previous = hashlib.sha256(b"LH-CHAIN-GENESIS-1").digest()
    links = []
    for page in store.read_notifications():
        for n in page:
            stream, topic = str(n.originator_id).encode(), n.topic.encode()
            header = struct.pack(
                ">10s32sQIIIQ",
                b"LH-CHAIN-2",
                previous,
                n.id,
                len(stream),
                len(topic),
                len(n.state),
                n.originator_version,
            )
            previous = hashlib.sha256(header + stream + topic + n.state).digest()
            links.append((n.id, previous))
    return links


def stored(store: EventStore) -> list[tuple[int, bytes]]:
    return [link for page in store.read_chain(batch_size=7) for link in page]


def test_every_append_path_commits_the_chain(backend: tuple[str, str]) -> None:
    url, prefix = backend
    store = open_event_store(url, key_prefix=prefix)
    store.append([venue_event("a", 1)])  # the row-by-row path on SQLite
    store.append([venue_event("b", v) for v in range(1, 201)])  # the batched path
    store.append([venue_event("a", 2), venue_event("c", 1)])
    assert stored(store) == recomputed(store)
    assert [p for p, _ in stored(store)] == list(range(1, 204))
    assert [p for p, _ in next(store.read_chain(100, stop=105))] == [101, 102, 103, 104, 105]
    store.close()


def test_a_writer_whose_view_of_the_head_is_stale_chains_again(backend: tuple[str, str]) -> None:
    url, prefix = backend
    first = open_event_store(url, key_prefix=prefix)
    second = open_event_store(url, key_prefix=prefix)
    first.append([venue_event("a", 1)])
    second.append([venue_event("b", 1), venue_event("b", 2)])
    first.append([venue_event("a", 2)])  # extends the head ``second`` moved
    assert stored(first) == recomputed(first)
    assert len(stored(first)) == 4
    first.close()
    second.close()


def test_concurrent_writer_processes_give_one_valid_chain(backend: tuple[str, str]) -> None:
    url, prefix = backend
    open_event_store(url, key_prefix=prefix).close()  # create the tables before racing
    sizes = ["1", "70", "3", "64"]
    writer = [sys.executable, "-m", "tests.eventstore.chain_writer", url, prefix]
    writers = [subprocess.Popen([*writer, f"w{i}", "300", *sizes]) for i in range(4)]
    assert [w.wait(timeout=300) for w in writers] == [0, 0, 0, 0]
    store = open_event_store(url, key_prefix=prefix)
    assert store.head() == 1_200
    assert stored(store) == recomputed(store)
    assert [p for p, _ in stored(store)] == list(range(1, 1_201))
    store.close()


def test_a_sqlite_store_written_before_the_chain_is_chained_by_its_next_append(
    tmp_path: Path,
) -> None:
    url = store_url("sqlite", tmp_path)
    store = open_event_store(url)
    store.append([venue_event("old", v) for v in range(1, 101)])
    store.close()
    with sqlite3.connect(tmp_path / "events.sqlite") as db:  # as the store was before the chain
        db.execute("DROP TABLE lh_event_chain")
    store = open_event_store(url)
    assert stored(store) == []
    store.append([venue_event("new", 1)])
    assert stored(store) == recomputed(store)
    assert len(stored(store)) == 101
    store.close()


def test_a_redis_log_written_before_the_chain_gets_a_chain_base(redis_prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    store = open_event_store(REDIS_URL, key_prefix=redis_prefix)
    keys: EventKeys = store.recorder.keys  # type: ignore[attr-defined]
    old = [venue_event("old", v) for v in range(1, 4)]
    store.append(old)
    # Rewrite the log as the script wrote it before the chain: entries without "c", no head.
    entries = client.xrange(keys.log)
    client.delete(keys.log, keys.chain)
    for entry_id, fields in entries:
        client.xadd(keys.log, {k: v for k, v in fields.items() if k != b"c"}, id=entry_id)
    store.close()

    store = open_event_store(REDIS_URL, key_prefix=redis_prefix)
    store.append([venue_event("new", 1)])
    everything = recomputed(store)
    assert store.chain_base() == everything[2]
    assert stored(store) == everything[3:]
    store.close()
    client.close()


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_lh_store_chain_chains_a_store_from_before_the_chain_without_appending(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = request.getfixturevalue("redis_prefix") if backend == "redis" else "lh"
    url = store_url(backend, tmp_path)
    store = open_event_store(url, key_prefix=prefix)
    store.append([venue_event("old", v) for v in range(1, 6)])
    if backend == "sqlite":
        store.close()
        with sqlite3.connect(tmp_path / "events.sqlite") as db:
            db.execute("DROP TABLE lh_event_chain")
    else:
        client = redis.Redis.from_url(REDIS_URL)
        keys: EventKeys = store.recorder.keys  # type: ignore[attr-defined]
        entries = client.xrange(keys.log)
        client.delete(keys.log, keys.chain)
        for entry_id, fields in entries:
            client.xadd(keys.log, {k: v for k, v in fields.items() if k != b"c"}, id=entry_id)
        client.close()
        store.close()
    monkeypatch.setenv("LH_EVENT_STORE", url)
    monkeypatch.setenv("LH_REDIS_KEY_PREFIX", prefix)
    runner = CliRunner()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 1  # unchained: one finding
    result = runner.invoke(app, ["store", "chain"])
    assert result.exit_code == 0, result.output
    store = open_event_store(url, key_prefix=prefix)
    everything = recomputed(store)
    assert f"chain hash at position 5: {everything[-1][1].hex()}" in result.output
    assert store.head() == 5  # nothing appended
    store.close()
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert runner.invoke(app, ["store", "chain"]).exit_code == 0  # idempotent
