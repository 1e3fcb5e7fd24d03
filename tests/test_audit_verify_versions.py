"""`lh audit verify` checks the archive's object versions too (issue 10: one command checks
the archive and its link to the live log): in a versioned (Object Lock) bucket on moto, a
sealed segment replaced by a newer version with the very same bytes passes every other check
and is found only in the history."""

from __future__ import annotations

import io

import pytest

from adapters.objectstore.s3 import S3ObjectStore
from infra.archive import Archive
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.archive.conftest import Feed
from tests.test_audit_verify import findings, lh, verify

pytestmark = pytest.mark.services


@pytest.fixture
def locked(s3_url: str, monkeypatch: pytest.MonkeyPatch) -> Archive:
    """250 events in the configured store, sealed by 100s into an Object Lock bucket."""
    monkeypatch.setenv("COLUMNS", "300")
    store = open_event_store(load_settings().event_store)
    try:
        Feed(store).append_until(250)
    finally:
        store.close()
    url = s3_url + "?object_lock=true"
    monkeypatch.setenv("LH_OBJECT_STORE", url)
    code, out = lh("archive", "seal", "--segment-size", "100")
    assert code == 0, out
    return Archive(S3ObjectStore.from_url(url), "lh")


def test_an_intact_versioned_archive_is_reported_checked(locked: Archive) -> None:
    code, report = verify()
    assert code == 0, report
    segments = len(locked.load_manifest().segments)
    assert report["archive_versions"] == {"checked": True, "keys": segments + 1}
    code, out = lh("audit", "verify")
    assert code == 0 and f"object versions checked: {segments + 1} keys" in out, out


def test_a_segment_replaced_with_identical_bytes_is_a_finding(locked: Archive) -> None:
    entry = locked.load_manifest().segments[1]
    objects = locked.objects
    assert isinstance(objects, S3ObjectStore)
    data = objects.get(entry.key)
    objects.client.put_object(
        objects.bucket, objects.object_name(entry.key), io.BytesIO(data), len(data)
    )
    code, report = verify()
    assert code == 1 and findings(report) == [(entry.first, "archive object version")], report
    found = str(report["findings"][0]["found"])  # type: ignore[index]
    assert entry.key in found and "replaced after it was written" in found, found
    code, out = lh("audit", "verify")
    assert code == 1 and "archive object version" in out, out


def test_a_store_without_versions_says_they_were_not_checked() -> None:
    store = open_event_store(load_settings().event_store)
    try:
        Feed(store).append_until(50)
    finally:
        store.close()
    assert lh("archive", "seal", "--segment-size", "20")[0] == 0
    code, report = verify()
    assert code == 0 and report["archive_versions"] == {"checked": False, "keys": 0}, report
    code, out = lh("audit", "verify")
    assert code == 0 and "object versions not checked" in out, out
