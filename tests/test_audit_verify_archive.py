"""One chain over the whole history (issue 10): the sealed archive records the live chain at
its segment ends, `lh archive verify` and `lh audit verify` recompute it over the archived
records, it carries the chain below Redis' trim point, and the store's own record of the seal
finds a segment deleted together with its manifest entry. On SQLite and on Redis."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from adapters.objectstore import open_object_store
from domain.events import chain
from domain.events.codec import canonical_json
from infra.archive import Archive
from infra.archive.layout import SegmentEntry
from infra.archive.reader import archive_log
from infra.archive.segment import build_segment
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import load_settings
from tests.eventstore.events import venue_event
from tests.projections.test_failed_read_model import _poisoned_run
from tests.services import REDIS_URL
from tests.test_audit_verify import Log, Rows, findings, lh, verify
from tests.trading.helpers import wave_bars, write_bars_csv

pytestmark = pytest.mark.services

SEGMENT = 20


class Setup:
    def __init__(self, backend: str, tmp_path: Path, prefix: str, objects: str) -> None:
        self.backend = backend
        self.log = Log(backend, tmp_path, prefix)
        self.objects = open_object_store(objects)
        self.archive = Archive(self.objects, prefix)

    def store(self) -> EventStore:
        """The store as every command opens it: trimmed positions read from the archive."""
        settings = load_settings()
        sealed = archive_log(settings.object_store, self.archive.archive_id)
        return open_event_store(
            settings.event_store, key_prefix=settings.redis_key_prefix, sealed=sealed
        )

    def chain_at(self, position: int) -> bytes:
        store = self.store()
        try:
            return dict(p for page in store.read_chain(position - 1, stop=position) for p in page)[
                position
            ]
        finally:
            store.close()


@pytest.fixture
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A local directory, or (parametrized ``s3``) a fresh bucket on moto's S3 server."""
    if getattr(request, "param", "local") == "s3":
        return str(request.getfixturevalue("s3_url"))
    return f"file://{tmp_path / 'objects'}"


@pytest.fixture(params=["sqlite", "redis"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    object_store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Setup]:
    """A backtest of 300 one-minute bars recorded in the backend's store, sealed by 20s."""
    prefix = "lh"
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        monkeypatch.setenv("LH_EVENT_STORE", REDIS_URL)
        monkeypatch.setenv("LH_REDIS_KEY_PREFIX", prefix)
    monkeypatch.setenv("LH_OBJECT_STORE", object_store)
    monkeypatch.setenv("COLUMNS", "300")
    path = write_bars_csv(tmp_path / "bars.csv", wave_bars(300))
    code, out = lh("backtest", "--data", str(path), "--strategy", "sma_cross", "--json")
    assert code == 0, out
    code, out = lh("archive", "seal", "--segment-size", str(SEGMENT))
    assert code == 0, out
    yield Setup(request.param, tmp_path, prefix, object_store)


def trim(setup: Setup) -> None:
    if setup.backend == "redis":
        code, out = lh("archive", "trim")
        assert code == 0, out


def archive_verify() -> tuple[int, str]:
    return lh("archive", "verify")


def test_each_segment_records_the_live_chain_and_verifies_through_the_trim(setup: Setup) -> None:
    manifest = setup.archive.load_manifest()
    assert len(manifest.segments) >= 3
    assert manifest.segments[0].live_prev == chain.GENESIS.hex()
    for before, entry in zip([None, *manifest.segments], manifest.segments, strict=False):
        assert entry.live_chain == setup.chain_at(entry.last).hex()
        if before is not None:
            assert entry.live_prev == before.live_chain
    trim(setup)
    store = setup.store()
    try:
        head, held_from = store.head(), store.held_from()
        below = [p for page in store.read_chain(0, stop=held_from - 1) for p, _ in page]
    finally:
        store.close()
    if setup.backend == "redis":  # the trimmed part of the chain comes from the archive
        assert held_from == manifest.sealed_to + 1
        assert below == [entry.last for entry in manifest.segments]
    assert archive_verify()[0] == 0
    code, report = verify()
    assert code == 0 and report["events"] == head, report


def _rewrite_last_segment(setup: Setup) -> int:
    """Edit the envelope of one record of the last segment and recompute every archive hash
    (content, segment chain, manifest), as someone with write access to the object store
    would; the live chain hashes recorded at sealing are left. Returns the segment's last."""
    archive = setup.archive
    manifest = archive.load_manifest()
    entry = manifest.segments[-1]
    records = archive.read_segment(entry)
    edited = records[len(records) // 2]
    state = orjson.loads(edited.state)
    state["actor"]["name"] = "MALLORY"
    records[len(records) // 2] = replace(edited, state=canonical_json(state))
    header, data = build_segment(archive.archive_id, records, entry.header.prev_hash)
    archive.objects.put(entry.key, data)
    manifest.segments[-1] = SegmentEntry(
        entry.key, header, len(data), entry.live_prev, entry.live_chain
    )
    archive.save_manifest(manifest)
    return entry.last


def test_a_segment_rewritten_with_recomputed_archive_hashes_breaks_the_live_chain(
    setup: Setup,
) -> None:
    trim(setup)
    last = _rewrite_last_segment(setup)
    code, out = archive_verify()
    assert code == 1 and "live chain hash does not recompute" in out, out
    code, report = verify()
    assert code == 1 and {position for position, _ in findings(report)} == {last}, report


@pytest.mark.parametrize("object_store", ["local", "s3"], indirect=True)
def test_a_segment_deleted_with_its_manifest_entry_is_found(setup: Setup) -> None:
    manifest = setup.archive.load_manifest()
    removed = manifest.segments.pop()
    setup.objects.delete(removed.key)
    setup.archive.save_manifest(manifest)
    code, out = archive_verify()
    assert code == 1 and "deleted with their manifest entries" in out, out
    code, report = verify()
    assert code == 1 and findings(report) == [(removed.first, "archive")], report
    found = report["findings"][0]["found"]  # type: ignore[index]
    assert f"sealed to position {removed.last}" in found, found


def test_an_archive_sealed_before_the_link_still_verifies_and_links_on(setup: Setup) -> None:
    """Manifest entries without the live chain hashes (older archives) read and verify as
    before; the next seal picks the chain up from the store."""
    raw = json.loads(setup.objects.get(setup.archive.manifest_key))
    for item in raw["segments"]:
        item.pop("live_prev"), item.pop("live_chain")
    setup.objects.put(setup.archive.manifest_key, json.dumps(raw).encode())
    assert archive_verify()[0] == 0
    assert verify()[0] == 0
    sealed_to = setup.archive.load_manifest().sealed_to
    code, out = lh("archive", "seal", "--segment-size", str(SEGMENT), "--final")
    assert code == 0, out
    tail = setup.archive.load_manifest().segments[-1]
    assert tail.first == sealed_to + 1 and tail.live_prev == setup.chain_at(sealed_to).hex()
    assert tail.live_chain == setup.chain_at(tail.last).hex()
    trim(setup)
    assert archive_verify()[0] == 0
    assert verify()[0] == 0


def test_sealing_refuses_records_whose_chain_disagrees_with_the_store(setup: Setup) -> None:
    """An envelope edited after the append (not yet sealed) is refused, nothing written."""
    sealed_to = setup.archive.load_manifest().sealed_to

    def edit(rows: Rows) -> Rows:
        state = orjson.loads(rows[sealed_to].state)
        state["actor"]["name"] = "MALLORY"
        rows[sealed_to].state = canonical_json(state)
        return rows

    setup.log.rewrite(edit)
    keys = sorted(setup.objects.list())
    code, out = lh("archive", "seal", "--segment-size", str(SEGMENT), "--final")
    assert code == 1 and "does not recompute from its records" in out, out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert sorted(setup.objects.list()) == keys
    assert setup.archive.load_manifest().sealed_to == sealed_to


@pytest.fixture
def read_model(setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The SQL read model of the log (an SQLite file), caught up to the head."""
    path = tmp_path / "readmodel.sqlite"
    monkeypatch.setenv("LH_SQL_URL", f"sqlite:///{path}")
    code, out = lh("projections", "run", "--only", "sql")
    assert code == 0, out
    return path


def test_read_models_matching_the_log_are_listed(read_model: Path) -> None:
    code, report = verify()
    assert code == 0, report
    assert str(report["read_models"]["sql"]).startswith("matches the log")  # type: ignore[index]
    assert verify("--log-only")[1]["read_models"] == {}


def test_a_read_model_row_edited_by_hand_is_a_finding(read_model: Path) -> None:
    with sqlite3.connect(read_model) as db:
        account, strategy, symbol = db.execute(
            "SELECT account, strategy, symbol FROM positions ORDER BY symbol LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE positions SET quantity = '12345' WHERE account=? AND strategy=? AND symbol=?",
            (account, strategy, symbol),
        )
    code, report = verify()
    assert code == 1 and [p for _, p in findings(report)] == ["read model sql row"], report
    found = str(report["findings"][0]["found"])  # type: ignore[index]
    assert symbol in found and "12345" in found, found
    code, out = lh("audit", "verify")
    assert code == 1 and "read model sql row" in out, out
    assert verify("--log-only")[0] == 0  # the log itself is intact


def test_a_read_model_behind_the_head_is_a_finding(setup: Setup, read_model: Path) -> None:
    store = setup.store()
    try:
        at = store.head()
        store.append([venue_event("venue-audit", 1)])
    finally:
        store.close()
    code, report = verify()
    assert code == 1 and findings(report) == [(at, "read model sql behind")], report
    assert report["findings"][0]["expected"] == f"position {at + 1}"  # type: ignore[index]


def test_a_read_model_stopped_on_an_event_is_a_finding(setup: Setup, read_model: Path) -> None:
    store = setup.store()
    try:
        at = store.head()
        store.append([_poisoned_run()])
    finally:
        store.close()
    assert lh("projections", "run", "--only", "sql")[0] != 0
    code, report = verify()
    failed = [f for f in report["findings"] if f["problem"] == "read model sql failed"]  # type: ignore[attr-defined]
    assert code == 1 and [f["position"] for f in failed] == [at + 1], report
    assert f"position {at + 1}" in failed[0]["found"], failed
    assert report["read_models"]["sql"] == "failed"  # type: ignore[index]
