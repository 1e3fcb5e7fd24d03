"""The ObjectStore contract, run against the local directory store and S3 over real HTTP."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio.error import S3Error

from adapters.objectstore import (
    LocalObjectStore,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectRetainedError,
    ObjectStore,
)
from adapters.objectstore.s3 import (
    ObjectStoreAccessError,
    ObjectStoreUnavailableError,
    S3Location,
    S3ObjectStore,
    redact,
)
from tests.services import free_port, wait_for_port


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.services)])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return S3ObjectStore.from_url(request.getfixturevalue("s3_url"))


def test_put_get_overwrite(objects: ObjectStore) -> None:
    objects.put("a/b/c.bin", b"\x00first")
    assert objects.get("a/b/c.bin") == b"\x00first"
    objects.put("a/b/c.bin", b"second")
    assert objects.get("a/b/c.bin") == b"second"
    objects.put("empty", b"")
    assert objects.get("empty") == b""


def test_missing_key_raises_not_found(objects: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError, match="no object 'absent/key'"):
        objects.get("absent/key")
    assert not objects.exists("absent/key")


def test_exists_list_and_delete(objects: ObjectStore) -> None:
    for key in ("p/2", "p/10", "p/1/x", "q/1"):
        objects.put(key, key.encode())
    assert objects.exists("p/2")
    assert list(objects.list("p/")) == ["p/1/x", "p/10", "p/2"]
    assert list(objects.list()) == ["p/1/x", "p/10", "p/2", "q/1"]
    objects.delete("p/10")
    objects.delete("never/there")
    assert list(objects.list("p/")) == ["p/1/x", "p/2"]


def test_put_once_creates_and_never_replaces(objects: ObjectStore) -> None:
    objects.put_once("once/a", b"first", retain_until=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ObjectExistsError, match="'once/a' already exists"):
        objects.put_once("once/a", b"second")
    assert objects.get("once/a") == b"first"
    assert list(objects.list("once/")) == ["once/a"]
    assert not objects.retention_enforced()


def test_put_once_racing_writers_leave_exactly_one(objects: ObjectStore) -> None:
    def attempt(writer: int) -> int | None:
        try:
            objects.put_once("race/key", f"writer {writer}".encode())
        except ObjectExistsError:
            return None
        return writer

    with ThreadPoolExecutor(max_workers=8) as pool:
        winners = [w for w in pool.map(attempt, range(8)) if w is not None]
    assert len(winners) == 1
    assert objects.get("race/key") == f"writer {winners[0]}".encode()


def test_local_put_once_leaves_a_read_only_file(tmp_path: Path) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    objects.put_once("a/b", b"x")
    assert stat.S_IMODE((tmp_path / "objects" / "a" / "b").stat().st_mode) == 0o444
    assert [p.name for p in (tmp_path / "objects" / "a").iterdir()] == ["b"]  # no temp left
    objects.delete("a/b")  # read-only is no lock: the directory's owner can still delete it
    assert not objects.exists("a/b") and not objects.retention_enforced()


@pytest.fixture
def locked(s3_url: str) -> S3ObjectStore:
    """A bucket created with S3 Object Lock (moto's server enforces it over HTTP)."""
    return S3ObjectStore.from_url(s3_url + "?object_lock=true")


@pytest.mark.services
def test_object_lock_refuses_deletion_before_retention_ends(locked: S3ObjectStore) -> None:
    assert locked.retention_enforced()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    locked.put_once("anchors/lh/1.json", b"{}", "application/json", retain_until=until)
    info = locked.client.stat_object(locked.bucket, "anchors/lh/1.json")
    assert info.metadata["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert info.metadata["x-amz-object-lock-retain-until-date"].startswith(
        until.strftime("%Y-%m-%dT%H:%M:%S")
    )
    with pytest.raises(ObjectRetainedError, match="under retention"):
        locked.delete("anchors/lh/1.json")
    with pytest.raises(S3Error, match="AccessDenied"):  # not our code: the server refuses
        locked.client.remove_object(locked.bucket, "anchors/lh/1.json", str(info.version_id))
    with pytest.raises(ObjectExistsError):
        locked.put_once("anchors/lh/1.json", b"forged")
    assert locked.get("anchors/lh/1.json") == b"{}"


@pytest.mark.services
def test_object_lock_bucket_deletes_unretained_objects_for_good(locked: S3ObjectStore) -> None:
    locked.put("manifest.json", b"v1")
    locked.put("manifest.json", b"v2")
    locked.put_once("plain-once", b"x")
    locked.delete("manifest.json")
    locked.delete("plain-once")
    versions = list(locked.client.list_objects(locked.bucket, include_version=True))
    assert versions == []


@pytest.mark.services
def test_a_bucket_without_object_lock_does_not_enforce_retention(s3_url: str) -> None:
    plain = S3ObjectStore.from_url(s3_url)
    plain.put_once("k", b"x", retain_until=datetime.now(UTC) + timedelta(days=1))
    assert not plain.retention_enforced()
    plain.delete("k")
    assert not plain.exists("k")


@pytest.mark.parametrize("key", ["", "/abs", "a/../b"])
def test_invalid_keys_are_refused(objects: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        objects.put(key, b"x")


@pytest.mark.services
def test_s3_prefix_keeps_stores_apart(s3_url: str) -> None:
    one = S3ObjectStore.from_url(s3_url + "/tenant-one")
    two = S3ObjectStore.from_url(s3_url + "/tenant-two")
    one.put("k", b"1")
    assert not two.exists("k")
    assert list(one.list()) == ["k"]
    assert one.client.stat_object(one.bucket, "tenant-one/k").size == 1


def test_s3_url_parsing_and_secure_default() -> None:
    local = S3Location.parse("s3://AK:s%2Fecret@127.0.0.1:9000/bucket/some/prefix")
    assert (local.endpoint, local.bucket, local.prefix, local.secure) == (
        "127.0.0.1:9000",
        "bucket",
        "some/prefix",
        False,
    )
    assert local.secret_key == "s/ecret"
    assert "s%2Fecret" not in repr(local) and "s/ecret" not in repr(local)
    assert S3Location.parse("s3://AK:SK@minio.example.com/b").secure is True
    assert S3Location.parse("s3://AK:SK@minio.internal:9000/b?secure=false").secure is False
    assert S3Location.parse("s3://AK:SK@localhost:9000/b?secure=true").secure is True
    assert S3Location.parse("s3://AK:SK@localhost:9000/b?object_lock=true").object_lock is True
    assert S3Location.parse("s3://AK:SK@localhost:9000/b").object_lock is False
    with pytest.raises(ValueError, match="no bucket") as error:
        S3Location.parse("s3://AK:TOPSECRET@host:9000/")
    assert "TOPSECRET" not in str(error.value)
    assert redact("s3://AK:TOPSECRET@h:1/b") == "s3://AK:***@h:1/b"


def test_s3_unreachable_endpoint_names_url_without_secret() -> None:
    url = f"s3://AK:TOPSECRET@127.0.0.1:{free_port()}/bucket-x"
    with pytest.raises(ObjectStoreUnavailableError, match="cannot reach") as error:
        S3ObjectStore.from_url(url)
    assert "AK:***@127.0.0.1" in str(error.value)
    assert "TOPSECRET" not in str(error.value)


@pytest.fixture
def s3_with_auth() -> Iterator[int]:
    """A moto server that checks credentials (none are valid)."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield port
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.services
def test_s3_bad_credentials_are_named_clearly(s3_with_auth: int) -> None:
    url = f"s3://WRONGKEY:TOPSECRET@127.0.0.1:{s3_with_auth}/bucket-x"
    with pytest.raises(ObjectStoreAccessError, match="InvalidAccessKeyId") as error:
        S3ObjectStore.from_url(url)
    assert "WRONGKEY:***@" in str(error.value)
    assert "TOPSECRET" not in str(error.value)
