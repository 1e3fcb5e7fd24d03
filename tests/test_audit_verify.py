"""`lh audit verify` on a recorded backtest, tampered with on SQLite and on Redis (issue 10).

Each tamper writes the storage directly, as someone with write access to the SQLite file or
to Redis would; the chain hashes the store recorded are left as they were.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from api.cli import app
from domain.events import chain
from domain.events.codec import canonical_json
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.eventstore.events import venue_event
from tests.services import REDIS_URL
from tests.trading.helpers import wave_bars, write_bars_csv


@dataclass
class Row:
    position: int
    stream: str
    version: int
    topic: str
    state: bytes


Rows = list[Row]


def lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def verify(*args: str) -> tuple[int, dict[str, object]]:
    code, out = lh("audit", "verify", "--json", *args)
    report: dict[str, object] = json.loads(out)
    return code, report


def findings(report: dict[str, object]) -> list[tuple[int, str]]:
    found = report["findings"]
    assert isinstance(found, list)
    return [(f["position"], f["problem"]) for f in found]


class Log:
    """The recorded log's rows, rewritten in place the way an attacker with storage access
    would (positions kept; the stored chain hashes untouched)."""

    def __init__(self, backend: str, tmp_path: Path, prefix: str) -> None:
        self.backend = backend
        self.path = tmp_path / "var" / "events.sqlite"
        self.prefix = prefix

    def rows(self) -> Rows:
        store = open_event_store(load_settings().event_store, key_prefix=self.prefix)
        try:
            return [
                Row(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                for page in store.read_notifications()
                for n in page
            ]
        finally:
            store.close()

    def rewrite(self, change: Callable[[Rows], Rows], *, rechain: bool = False) -> None:
        """Apply ``change``; ``rechain``: also recompute and store the whole chain, as an
        attacker who knows the (unkeyed) chain would."""
        rows = change(self.rows())
        hashes = chain.extend(
            chain.GENESIS, 1, [(r.stream, r.version, r.topic, r.state) for r in rows]
        )
        if self.backend == "sqlite":
            with sqlite3.connect(self.path) as db:
                db.execute("DELETE FROM stored_events")
                db.executemany(
                    "INSERT INTO stored_events (rowid, originator_id, originator_version, topic,"
                    " state) VALUES (?,?,?,?,?)",
                    [(r.position, r.stream, r.version, r.topic, r.state) for r in rows],
                )
                if rechain:
                    db.execute("DELETE FROM lh_event_chain")
                    db.execute(
                        "INSERT INTO lh_event_chain VALUES (?, 1, ?)", (len(rows), b"".join(hashes))
                    )
            return
        client = redis.Redis.from_url(REDIS_URL)
        log = f"{self.prefix}:lianghua:events:log"
        chains = {int(i[:-2]): f[b"c"] for i, f in client.xrange(log)}
        if rechain:
            chains = {r.position: h for r, h in zip(rows, hashes, strict=True)}
            client.set(f"{self.prefix}:lianghua:events:chain", hashes[-1])
        client.delete(log)
        for r in rows:
            fields = {"o": r.stream, "v": r.version, "t": r.topic, "s": r.state}
            if r.position in chains:
                fields["c"] = chains[r.position]
            client.xadd(log, fields, id=f"{r.position}-0")  # type: ignore[arg-type]
        client.set(f"{self.prefix}:lianghua:events:seq", max(r.position for r in rows))
        client.close()


@pytest.fixture(params=["sqlite", "redis"])
def log(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Log]:
    """A backtest of 300 one-minute bars recorded in the store of the backend."""
    prefix = "lh"
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        monkeypatch.setenv("LH_EVENT_STORE", REDIS_URL)
        monkeypatch.setenv("LH_REDIS_KEY_PREFIX", prefix)
    monkeypatch.setenv("COLUMNS", "300")
    path = write_bars_csv(tmp_path / "bars.csv", wave_bars(300))
    code, out = lh("backtest", "--data", str(path), "--strategy", "sma_cross", "--json")
    assert code == 0, out
    yield Log(request.param, tmp_path, prefix)


def first_fill(rows: Rows) -> Row:
    return next(r for r in rows if r.topic == "FillRecorded")


def test_an_untampered_log_verifies_with_its_head_chain_hash_in_full(log: Log) -> None:
    head = len(log.rows())
    code, report = verify()
    assert code == 0 and report["ok"] and report["events"] == head, report
    assert isinstance(report["head_chain_hash"], str) and len(report["head_chain_hash"]) == 64
    code, out = lh("audit", "verify")
    assert code == 0 and f"{head} events, positions 1..{head}" in out, out
    assert str(report["head_chain_hash"]) in out
    code, report = verify("--from", "10", "--to", "20")
    assert code == 0 and report["events"] == 11, report


def test_a_deleted_event_is_a_gap(log: Log) -> None:
    log.rewrite(lambda rows: [r for r in rows if r.position != 30])
    code, report = verify()
    assert code == 1
    gap, version = findings(report)  # the position, and the version its stream then skips
    assert gap == (31, "gap") and version[1].endswith(" version"), report
    assert report["findings"][0]["expected"] == "position 30"  # type: ignore[index]
    assert verify("--from", "40")[0] == 0


def test_a_duplicated_fill_appended_at_the_end_is_found(log: Log) -> None:
    def duplicate(rows: Rows) -> Rows:
        fill = first_fill(rows)
        last = max(r.version for r in rows if r.stream == fill.stream)
        copy = Row(rows[-1].position + 1, fill.stream, last + 1, fill.topic, fill.state)
        return [*rows, copy]

    log.rewrite(duplicate)
    code, report = verify()
    head = len(log.rows())
    assert code == 1 and findings(report) == [(head, "duplicate event id")], report


def test_an_edited_envelope_breaks_its_chain_link(log: Log) -> None:
    fill = first_fill(log.rows())

    def edit(rows: Rows) -> Rows:
        for row in rows:
            if row.position == fill.position:
                state = orjson.loads(row.state)
                state["actor"]["name"] = "MALLORY"
                state["event_time_us"] = 0
                row.state = canonical_json(state)
        return rows

    log.rewrite(edit)
    code, report = verify()
    assert code == 1 and findings(report) == [(fill.position, "chain hash")], report


def test_a_forged_fill_with_a_recomputed_payload_hash_is_found(log: Log) -> None:
    fill = first_fill(log.rows())

    def forge(rows: Rows) -> Rows:
        for row in rows:
            if row.position == fill.position:
                state = orjson.loads(row.state)
                state["payload"]["quantity"] = "1000"
                payload = canonical_json(state["payload"])
                state["payload_hash"] = hashlib.sha256(payload).hexdigest()
                row.state = canonical_json(state)
        return rows

    log.rewrite(forge)
    code, report = verify()
    assert code == 1 and findings(report) == [(fill.position, "chain hash")], report


def test_reordered_events_are_found_where_they_moved(log: Log) -> None:
    def swap(rows: Rows) -> Rows:
        a, b = rows[19], rows[20]
        rows[19] = Row(a.position, b.stream, b.version, b.topic, b.state)
        rows[20] = Row(b.position, a.stream, a.version, a.topic, a.state)
        return rows

    log.rewrite(swap)
    code, report = verify()
    assert code == 1 and [p for p, _ in findings(report)] == [20, 21], report


@pytest.mark.parametrize("log", ["redis"], indirect=True)  # SQLite has no entries past its head
def test_a_stray_entry_in_the_redis_log_stream_is_found(redis_prefix: str, log: Log) -> None:
    head = len(log.rows())
    client = redis.Redis.from_url(REDIS_URL)
    client.xadd(f"{redis_prefix}:lianghua:events:log", {"x": "1"}, id=f"{head + 1}-0")
    client.close()
    code, report = verify()
    assert code == 1 and findings(report) == [(head + 1, "stray entry")], report


@pytest.mark.parametrize("log", ["sqlite"], indirect=True)  # the issue's sqlite3 statements
def test_the_issue_s_sqlite_edits_are_found(tmp_path: Path, log: Log) -> None:
    fill = first_fill(log.rows())
    with sqlite3.connect(log.path) as db:
        db.execute("DELETE FROM stored_events WHERE rowid=30")
        db.execute(
            "UPDATE stored_events SET state=json_set(state,'$.actor.name','MALLORY',"
            "'$.event_time_us',0) WHERE rowid=?",
            (fill.position,),
        )
    code, report = verify()
    found = findings(report)
    assert code == 1 and (31, "gap") in found and (fill.position, "chain hash") in found, report
    code, out = lh("audit", "hashes")
    assert code == 1 and "gap" in out and "chain hash" in out


def test_bad_range_is_one_line_exit_2(log: Log) -> None:
    code, out = lh("audit", "verify", "--from", "5", "--to", "2")
    assert code == 2 and "--from" in out and "Traceback" not in out


def anchor() -> tuple[int, str]:
    code, out = lh("audit", "anchor")
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.startswith("anchor (record it"))
    _, position, _, hashed = line.split(": ", 1)[1].split()
    return int(position), hashed


def test_a_suffix_forged_with_a_recomputed_chain_is_caught_by_the_anchor(log: Log) -> None:
    position, hashed = anchor()
    assert anchor() == (position, hashed)  # anchoring again is idempotent
    code, report = verify()
    assert code == 0 and report["anchors"] == 1 and report["head_chain_hash"] == hashed
    fill = first_fill(log.rows())

    def forge(rows: Rows) -> Rows:
        for row in rows:
            if row.position == fill.position:
                state = orjson.loads(row.state)
                state["actor"]["name"] = "MALLORY"
                row.state = canonical_json(state)
        return rows

    log.rewrite(forge, rechain=True)
    code, report = verify()
    assert code == 1 and findings(report) == [(position, "anchor")], report
    assert report["findings"][0]["expected"] == hashed  # type: ignore[index]
    code, out = lh("audit", "anchor")
    assert code == 1 and "rewritten since it was anchored" in out


def test_newest_events_removed_with_their_chain_are_caught_by_the_anchor(log: Log) -> None:
    position, _ = anchor()
    log.rewrite(lambda rows: rows[:-2], rechain=True)
    code, report = verify()
    assert code == 1 and findings(report) == [(position, "anchor past the head")], report


def test_a_store_from_before_the_chain_is_one_finding_until_its_next_append(log: Log) -> None:
    head = len(log.rows())
    if log.backend == "sqlite":
        with sqlite3.connect(log.path) as db:
            db.execute("DROP TABLE lh_event_chain")
    else:
        client = redis.Redis.from_url(REDIS_URL)
        base = f"{log.prefix}:lianghua:events"
        entries = client.xrange(f"{base}:log")
        client.delete(f"{base}:log", f"{base}:chain")
        for entry_id, fields in entries:
            fields.pop(b"c")
            client.xadd(f"{base}:log", fields, id=entry_id)  # type: ignore[arg-type]
        client.close()
    code, report = verify()
    assert code == 1 and findings(report) == [(1, "chain hash")], report
    assert f"positions 1..{head}" in report["findings"][0]["expected"]  # type: ignore[index]

    store = open_event_store(load_settings().event_store, key_prefix=log.prefix)
    store.append([venue_event("after-upgrade", 1)])
    store.close()
    code, report = verify()
    assert code == 0 and report["events"] == head + 1, report
