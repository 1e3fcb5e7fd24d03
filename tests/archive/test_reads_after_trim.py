"""Every reader of the log after the runbook's `seal && verify && trim` on Redis: the archive
serves the trimmed positions (local directory and S3), and an unreadable archive is one line,
exit 2, with nothing dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.objectstore import LocalObjectStore
from api.cli import app
from infra.archive import Archive, seal, trim
from infra.archive.reader import archive_log
from infra.eventstore.factory import open_event_store
from projections.sql.projection import SqlProjection
from tests.archive.conftest import Feed, all_records
from tests.projections.support import dump
from tests.services import REDIS_URL
from tests.trading.helpers import wave_bars, write_bars_csv

pytestmark = pytest.mark.services

SEGMENT = 20


def lh(*args: str) -> tuple[int, str]:
    """Run ``lh`` in-process; a traceback is a test failure, not an exit code."""
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(params=["local", "s3"])
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "local":
        return f"file://{tmp_path / 'objects'}"
    return str(request.getfixturevalue("s3_url"))


@pytest.fixture
def trimmed(
    redis_prefix: str, object_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    """A backtest recorded on Redis, a SQL read model of it, then seal + verify + trim."""
    monkeypatch.setenv("LH_EVENT_STORE", REDIS_URL)
    monkeypatch.setenv("LH_REDIS_KEY_PREFIX", redis_prefix)
    monkeypatch.setenv("LH_OBJECT_STORE", object_store)
    monkeypatch.setenv("LH_SQL_URL", f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    monkeypatch.setenv("COLUMNS", "250")
    backtest = [
        "backtest",
        "--data",
        str(write_bars_csv(tmp_path / "bars.csv", wave_bars(300))),
        "--strategy",
        "sma_cross",
        "--param",
        "fast=5",
        "--param",
        "slow=15",
        "--json",
    ]
    code, out = lh(*backtest)
    assert code == 0, out
    run = json.loads(out)
    assert lh("projections", "run", "--only", "sql")[0] == 0
    store = open_event_store(REDIS_URL, key_prefix=redis_prefix)
    events = list(store.read_all())
    store.close()
    assert len(events) > 3 * SEGMENT
    fill = next(e for e in events if e.event_type == "FillRecorded")
    for step in (("seal", "--segment-size", str(SEGMENT)), ("verify",), ("trim",)):
        code, out = lh("archive", *step)
        assert code == 0, out
    store = open_event_store(REDIS_URL, key_prefix=redis_prefix)
    assert store.held_from() > fill.position + 1  # the fill's whole chain is trimmed
    store.close()
    return {"backtest": backtest, "run": run, "head": len(events), "fill": fill}


def test_every_reader_serves_the_trimmed_log_from_the_archive(trimmed: dict[str, object]) -> None:
    head, fill, run = trimmed["head"], trimmed["fill"], trimmed["run"]
    assert isinstance(run, dict) and isinstance(head, int)

    code, out = lh("store", "tail", "--limit", str(head + 5), "--json")
    assert code == 0, out
    assert [json.loads(line)["position"] for line in out.splitlines()] == list(range(1, head + 1))

    code, out = lh("audit", "hashes")
    assert code == 0 and f"{head} events, positions 1..{head}" in out, out

    code, out = lh("audit", "trace", "--fill", fill.data["fill_id"], "--json")  # type: ignore[attr-defined]
    assert code == 0, out
    chain = json.loads(out)
    assert chain[0]["position"] == fill.position  # type: ignore[attr-defined]
    assert chain[0]["type"] == "FillRecorded" and len(chain) >= 3  # fill -> order -> decision

    code, out = lh("audit", "state", "--at", "2100-01-01T00:00:00", "--json")
    assert code == 0, out
    assert json.loads(out)["position"] == head

    code, out = lh("projections", "verify", "--only", "sql")
    assert code == 0 and "matches the log" in out, out
    code, out = lh("report", "trades", "--from", "2024-01-01", "--to", "2024-01-02", "--json")
    assert code == 0, out
    assert json.loads(out)["log"]["first_position"] == 1  # the report replays the archive
    code, out = lh("projections", "rebuild", "sql", "--yes")
    assert code == 0 and f"from {head} events" in out, out

    backtest = trimmed["backtest"]
    assert isinstance(backtest, list)
    code, out = lh(*backtest)
    assert code == 0, out
    again = json.loads(out)
    assert again["already_recorded"] and again["run_id"] == run["run_id"]
    assert again["final_equity"] == run["final_equity"]


@pytest.mark.parametrize("object_store", ["local"], indirect=True)
def test_an_unreadable_archive_is_one_line_and_rebuild_drops_nothing(
    trimmed: dict[str, object], object_store: str, tmp_path: Path
) -> None:
    segment = next((tmp_path / "objects").rglob("*.seg.zst"))
    segment.unlink()
    projection = SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    before = dump(projection)
    assert before["checkpoint"] and before["orders"]

    code, out = lh("projections", "rebuild", "sql", "--yes")
    assert code == 2
    assert segment.name in out and "missing" in out and "Traceback" not in out
    assert dump(projection) == before

    for command in (("audit", "hashes"), ("store", "tail", "--json"), ("projections", "verify")):
        code, out = lh(*command)
        assert code == 2, (command, out)
        assert "cannot be read from the archive" in out and segment.name in out, out
    projection.close()


@pytest.mark.parametrize("object_store", ["local"], indirect=True)
def test_a_corrupt_archived_segment_is_found_before_rebuild_drops_anything(
    trimmed: dict[str, object], object_store: str, tmp_path: Path
) -> None:
    segment = sorted((tmp_path / "objects").rglob("*.seg.zst"))[-1]
    data = bytearray(segment.read_bytes())
    data[-3] ^= 0xFF  # same size, same header: only the content hash can tell
    segment.write_bytes(bytes(data))
    projection = SqlProjection.open(f"sqlite:///{tmp_path / 'readmodel.sqlite'}")
    before = dump(projection)

    code, out = lh("projections", "rebuild", "sql", "--yes")
    assert code == 2 and segment.name in out and "Traceback" not in out, out
    assert dump(projection) == before
    projection.close()


@pytest.mark.parametrize("object_store", ["local"], indirect=True)
def test_an_unreachable_archive_is_one_line_exit_2(
    trimmed: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_OBJECT_STORE", "s3://reader:hunter2-secret@127.0.0.1:9/lh-archive")
    code, out = lh("audit", "hashes")
    assert code == 2 and "cannot be read from the archive" in out, out
    assert "hunter2-secret" not in out


def test_store_reads_across_the_trim_point_match_the_untrimmed_log(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """Global pages of any size and every stream read the same before and after a trim."""
    store = open_event_store(redis_url, key_prefix=redis_prefix)
    Feed(store).append_until(900)
    before = all_records(store)
    streams = {str(record.originator_id) for record in before}
    stream_events = {stream: store.read_stream(stream) for stream in streams}
    archive = Archive(LocalObjectStore(tmp_path / "objects"), "lh")
    seal(store, archive, segment_size=200)
    assert trim(store, archive).removed == 800
    store.close()

    store = open_event_store(
        redis_url,
        key_prefix=redis_prefix,
        sealed=archive_log(f"file://{tmp_path / 'objects'}", "lh"),
    )
    assert store.held_from() == 801
    for batch_size in (7, 200, 5_000):
        pages = list(store.read_notifications(0, batch_size=batch_size))
        assert [record for page in pages for record in page] == before
        assert max(len(page) for page in pages) <= batch_size
    assert [e.position for e in store.read_all(150, stop=650)] == list(range(151, 651))
    topic = before[0].topic  # what a report asks for: a few types, filtered in Redis or here
    pages = store.read_notifications(0, batch_size=50, topics=[topic])
    assert [r for page in pages for r in page] == [r for r in before if r.topic == topic]
    assert all(store.read_stream(stream) == events for stream, events in stream_events.items())
    assert all(store.stream_version(s) == len(events) for s, events in stream_events.items())
    store.check_readable()
    store.close()
