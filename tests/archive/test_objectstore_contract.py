"""The ObjectStore contract, run against the local directory store and S3 over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.objectstore import LocalObjectStore, ObjectNotFoundError, ObjectStore
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
