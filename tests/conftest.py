"""Fixtures shared by the whole suite: real Redis, MariaDB and S3 (moto server over HTTP)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import MYSQL_URL, REDIS_URL, S3Server, missing_service, s3_server


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedded stores of every test live in its own temp dir, never in ./var."""
    monkeypatch.setenv("LH_VAR_DIR", str(tmp_path / "var"))
    empty_config = tmp_path / "empty.toml"  # LH_CONFIG naming a missing file is an error
    empty_config.write_text("")
    monkeypatch.setenv("LH_CONFIG", str(empty_config))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis (no persistence); a unique key prefix per test keeps tests apart."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        missing_service(f"Redis at {REDIS_URL}")
    yield REDIS_URL
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A fresh key prefix; its keys are deleted after the test."""
    import redis

    prefix = f"lhtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def mysql_server_url() -> str:
    """The machine's MariaDB (root, empty password)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(MYSQL_URL)
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.OperationalError:
        missing_service(f"MariaDB at {MYSQL_URL}")
    finally:
        engine.dispose()
    return MYSQL_URL


@pytest.fixture
def mysql_url(mysql_server_url: str) -> Iterator[str]:
    """A fresh, empty MariaDB database for one test, dropped afterwards."""
    import sqlalchemy

    name = f"lhtest_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(mysql_server_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    yield mysql_server_url.rsplit("/", 1)[0] + f"/{name}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    engine.dispose()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One moto S3 server for the session; tests use their own buckets."""
    try:
        with s3_server() as server:
            yield server
    except TimeoutError:
        missing_service("moto S3 server")


@pytest.fixture
def s3_url(s3: S3Server) -> str:
    return s3.url(f"lh-{uuid.uuid4().hex[:12]}")
