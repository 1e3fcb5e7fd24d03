"""A read model stops at the first event whose chain link does not hold, names its position,
and applies every event before it exactly once (issue 10), on SQLite and on Redis."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from api.cli import app
from domain.events.codec import canonical_json
from infra.eventstore.factory import open_event_store
from tests.projections.support import synthetic_batches
from tests.services import REDIS_URL


def _lh(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["projections", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _mallory(state: bytes) -> bytes:
    """The envelope edit of the issue: actor renamed, event time zeroed; payload untouched."""
    edited = orjson.loads(state)
    edited["actor"]["name"] = "MALLORY"
    edited["event_time_us"] = 0
    return canonical_json(edited)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_read_model_stops_right_before_an_edited_event(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    prefix = "lh"
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    if backend == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        url = REDIS_URL
        monkeypatch.setenv("LH_REDIS_KEY_PREFIX", prefix)
    monkeypatch.setenv("LH_EVENT_STORE", url)
    monkeypatch.setenv("LH_SQL_URL", f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    store = open_event_store(url, key_prefix=prefix)
    for batch in synthetic_batches(4):
        store.append(batch)
    target = next(n for page in store.read_notifications() for n in page if n.id > 10)
    store.close()

    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "events.sqlite") as db:
            db.execute(
                "UPDATE stored_events SET state=? WHERE rowid=?",
                (_mallory(target.state), target.id),
            )
    else:  # Redis entries cannot be edited: rewrite the stream with the edited event
        client = redis.Redis.from_url(REDIS_URL)
        log = f"{prefix}:lianghua:events:log"
        entries = client.xrange(log)
        client.delete(log)
        for entry_id, fields in entries:
            if entry_id == f"{target.id}-0".encode():
                fields[b"s"] = _mallory(fields[b"s"])
            client.xadd(log, fields, id=entry_id)  # type: ignore[arg-type]
        client.close()

    code, _out, err = _lh("run", "--only", "sql")
    assert code != 0
    line = f"read model sql cannot apply the event at position {target.id} ({target.topic}): "
    assert line in err and "chain link does not hold" in err, err
    assert "Traceback" not in err
    code, out, _err = _lh("status", "--only", "sql", "--json")
    [status] = json.loads(out)["projections"]
    assert status["checkpoint"] == target.id - 1


def test_an_envelope_edited_with_json_set_stops_the_read_model_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's own edit: SQLite's ``json_set`` stores the state back as TEXT, not BLOB."""
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    monkeypatch.setenv("LH_EVENT_STORE", url)
    monkeypatch.setenv("LH_SQL_URL", f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    store = open_event_store(url)
    for batch in synthetic_batches(4):
        store.append(batch)
    store.close()
    with sqlite3.connect(tmp_path / "events.sqlite") as db:
        db.execute(
            "UPDATE stored_events SET state=json_set(state,'$.actor.name','MALLORY',"
            "'$.event_time_us',0) WHERE rowid=20"
        )
    code, _out, err = _lh("run", "--only", "sql")
    assert code != 0
    assert "at position 20" in err and "chain link does not hold" in err, err
    assert "Traceback" not in err
