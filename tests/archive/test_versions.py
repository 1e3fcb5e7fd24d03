"""`lh archive verify` sees what a versioned bucket's history shows: a sealed segment or anchor
replaced by a newer version or hidden behind a delete marker, and a manifest whose entries
were rewritten, even when the current objects are consistent with each other."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from adapters.objectstore import LocalObjectStore
from adapters.objectstore.base import ObjectVersion
from adapters.objectstore.s3 import S3ObjectStore
from api.cli import app
from infra.archive import Archive, seal, verify
from infra.archive.anchors import write_anchor
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import load_settings
from tests.archive.conftest import Feed

pytestmark = pytest.mark.services


@pytest.fixture
def locked(s3_url: str, sqlite_store: EventStore) -> Archive:
    """A log of 600 events sealed in 3 segments into an Object Lock (versioned) bucket."""
    Feed(sqlite_store).append_until(600)
    archive = Archive(S3ObjectStore.from_url(s3_url + "?object_lock=true"), "lh")
    seal(sqlite_store, archive, segment_size=200, retain_until=datetime.now(UTC) + timedelta(1))
    assert len(archive.load_manifest().segments) == 3
    return archive


def _overwrite(archive: Archive, key: str, data: bytes) -> None:
    """A plain PUT by someone holding our keys: a new current version over the retained one."""
    objects = archive.objects
    assert isinstance(objects, S3ObjectStore)
    name = objects.object_name(key)
    objects.client.put_object(objects.bucket, name, io.BytesIO(data), len(data))


def _hide(archive: Archive, key: str) -> None:
    """A plain DELETE in a versioned bucket: a delete marker over the retained version."""
    objects = archive.objects
    assert isinstance(objects, S3ObjectStore)
    objects.client.remove_object(objects.bucket, objects.object_name(key))


def test_an_intact_versioned_archive_verifies_with_its_history_checked(
    locked: Archive, sqlite_store: EventStore
) -> None:
    report = verify(locked, linked=sqlite_store)
    assert report.ok, report.problems
    assert report.history.kept and report.history.keys == 4  # 3 segments and the manifest


def test_a_segment_replaced_by_a_newer_version_is_found(
    locked: Archive, sqlite_store: EventStore
) -> None:
    """The newer version holds the same bytes, so every other check passes: only the
    history tells that the object was rewritten after sealing."""
    key = locked.load_manifest().segments[1].key
    _overwrite(locked, key, locked.objects.get(key))
    report = verify(locked, linked=sqlite_store)
    assert [(p.key, p.position) for p in report.problems] == [(key, 201)]
    assert "replaced after it was written" in report.problems[0].message
    assert "2 versions" in report.problems[0].message


def test_a_segment_hidden_with_its_manifest_entry_is_found(
    locked: Archive, sqlite_store: EventStore
) -> None:
    manifest = locked.load_manifest()
    last = manifest.segments[-1]
    shortened = json.loads(locked.objects.get(locked.manifest_key))
    shortened["segments"] = shortened["segments"][:-1]
    _overwrite(locked, locked.manifest_key, json.dumps(shortened).encode())
    _hide(locked, last.key)
    messages = {p.key: p.message for p in verify(locked).problems}
    assert "hidden behind a delete marker" in messages[last.key]
    assert (
        f"removed the entry of positions {last.first}-{last.last}" in messages[locked.manifest_key]
    )


def test_an_anchor_replaced_or_hidden_is_found(locked: Archive) -> None:
    retain = datetime.now(UTC) + timedelta(1)
    replaced, _ = write_anchor(locked.objects, "lh", 100, b"\x01" * 32, retain_until=retain)
    hidden, _ = write_anchor(locked.objects, "lh", 200, b"\x02" * 32, retain_until=retain)
    _overwrite(locked, replaced, json.dumps({"position": 100, "chain_hash": "ff" * 32}).encode())
    _hide(locked, hidden)
    problems = {p.key: p for p in verify(locked).problems}
    assert set(problems) == {replaced, hidden}
    assert problems[replaced].position == 100 and problems[hidden].position == 200


def test_histories_list_versions_oldest_first(locked: Archive) -> None:
    key = "anchors/lh/x.json"
    objects = locked.objects
    objects.put(key, b"1")
    objects.put(key, b"2")
    _hide(locked, key)
    versions = (objects.histories("anchors/lh/") or {})[key]
    assert [v.delete_marker for v in versions] == [False, False, True]
    assert [objects.get_version(key, v.version_id) for v in versions[:2]] == [b"1", b"2"]
    assert isinstance(versions[0], ObjectVersion)


def test_stores_without_a_history_say_so(s3_url: str, tmp_path: object) -> None:
    assert S3ObjectStore.from_url(s3_url).histories("archive/") is None
    assert LocalObjectStore(tmp_path / "objects").histories("archive/") is None  # type: ignore[operator]


def test_the_cli_says_whether_versions_were_checked(
    s3_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    store = open_event_store(load_settings().event_store)
    Feed(store).append_until(250)
    store.close()
    runner = CliRunner()
    assert runner.invoke(app, ["archive", "seal", "--segment-size", "100"]).exit_code == 0
    result = runner.invoke(app, ["archive", "verify"])
    assert result.exit_code == 0 and "object versions not checked" in result.output, result.output
    monkeypatch.setenv("LH_OBJECT_STORE", s3_url + "?object_lock=true")
    assert runner.invoke(app, ["archive", "seal", "--segment-size", "100"]).exit_code == 0
    result = runner.invoke(app, ["archive", "verify"])
    assert result.exit_code == 0, result.output
    assert "object versions checked: 3 keys" in result.output, result.output
