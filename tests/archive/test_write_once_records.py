"""Anchors and sealed segments are write-once records: `lh audit anchor` and `lh archive seal`
write them create-only, with S3 Object Lock retention where the bucket has it, and say which."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from adapters.objectstore import ObjectExistsError, ObjectRetainedError, open_object_store
from adapters.objectstore.s3 import S3ObjectStore
from api.cli import app
from infra.archive.anchors import AnchorConflictError, read_anchors, write_anchor
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.archive.conftest import Feed


def lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(autouse=True)
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A log of a few hundred synthetic events in the embedded store."""
    monkeypatch.setenv("COLUMNS", "300")
    store = open_event_store(load_settings().event_store)
    Feed(store).append_until(250)
    store.close()
    yield


@pytest.fixture
def locked_url(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = s3_url + "?object_lock=true"
    monkeypatch.setenv("LH_OBJECT_STORE", url)
    return url


def _anchor_key(out: str) -> str:
    match = re.search(r"(anchors/\S+\.json)", out)
    assert match, out
    return match.group(1)


@pytest.mark.services
def test_anchor_in_an_object_lock_bucket_cannot_be_deleted_or_replaced(locked_url: str) -> None:
    code, out = lh("audit", "anchor")
    assert code == 0, out
    assert "anchor retained until" in out and "S3 Object Lock (compliance mode)" in out
    objects = open_object_store(locked_url)
    key = _anchor_key(out)
    original = objects.get(key)
    with pytest.raises(ObjectRetainedError):
        objects.delete(key)
    with pytest.raises(ObjectExistsError):
        objects.put_once(key, b'{"position": 1, "chain_hash": "00"}')
    assert objects.get(key) == original
    code, out = lh("audit", "anchor")
    assert code == 0 and "already written by an earlier run" in out, out


@pytest.mark.services
def test_sealed_segments_in_an_object_lock_bucket_are_retained(locked_url: str) -> None:
    code, out = lh("archive", "seal", "--segment-size", "100", "--final")
    assert code == 0, out
    assert "segments retained until" in out, out
    objects = open_object_store(locked_url)
    assert isinstance(objects, S3ObjectStore)
    segments = list(objects.list("archive/lh/segments/"))
    assert len(segments) == 3
    with pytest.raises(ObjectRetainedError):
        objects.delete(segments[-1])
    code, out = lh("archive", "verify")
    assert code == 0, out


@pytest.mark.services
def test_zero_days_writes_create_only_without_retention(
    locked_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_RETENTION_ANCHORS_DAYS", "0")
    code, out = lh("audit", "anchor")
    assert code == 0 and "without retention (LH_RETENTION_ANCHORS_DAYS=0)" in out, out
    objects = open_object_store(locked_url)
    key = _anchor_key(out)
    objects.delete(key)
    assert not objects.exists(key)


def test_a_local_directory_says_retention_is_not_enforced() -> None:
    code, out = lh("audit", "anchor")
    assert code == 0 and "anchor retention not enforced" in out, out
    code, out = lh("archive", "seal", "--segment-size", "100")
    assert code == 0 and "segments retention not enforced" in out, out


def test_a_negative_retention_is_refused_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_RETENTION_SEGMENTS_DAYS", "-1")
    code, out = lh("archive", "seal")
    assert code == 2 and "LH_RETENTION_SEGMENTS_DAYS" in out and "Traceback" not in out, out


@pytest.mark.services
def test_anchors_read_back_as_first_written_despite_new_versions_and_delete_markers(
    locked_url: str,
) -> None:
    """Someone with our S3 keys cannot destroy a retained anchor, but can hide it behind a
    delete marker or a newer version; verification still reads the original."""
    objects = open_object_store(locked_url)
    assert isinstance(objects, S3ObjectStore)
    write_anchor(objects, "lh", 10, b"\x01" * 32, retain_until=datetime.now(UTC) + timedelta(1))
    write_anchor(objects, "lh", 20, b"\x02" * 32, retain_until=datetime.now(UTC) + timedelta(1))
    forged = json.dumps({"position": 10, "chain_hash": "ff" * 32}).encode()
    name = objects.object_name(_key(10))
    objects.client.put_object(objects.bucket, name, io.BytesIO(forged), len(forged))
    objects.client.remove_object(objects.bucket, objects.object_name(_key(20)))
    assert objects.get(_key(10)) == forged and not objects.exists(_key(20))
    assert read_anchors(objects, "lh") == {10: b"\x01" * 32, 20: b"\x02" * 32}
    with pytest.raises(AnchorConflictError, match="already records chain hash 0101"):
        write_anchor(objects, "lh", 10, b"\xff" * 32)


def _key(position: int) -> str:
    return f"anchors/lh/{position:020d}.json"
