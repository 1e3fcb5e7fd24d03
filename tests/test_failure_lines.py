"""``describe_failure`` on a full disk and a read-only file: one line naming what could not
be written, for the errors each driver actually raises (made here by real writes)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from api.application.failures import RunFailedError
from api.cli.failures import describe_failure
from domain.events.catalog import RunFailed

URLS = ["sqlite:////srv/events.sqlite", "sqlite:////srv/readmodel.sqlite", "chdb:///a", "file:///o"]


def test_no_space_on_a_path_names_the_file() -> None:
    error = OSError(errno.ENOSPC, "No space left on device", "/srv/objects/seg-1")
    line = describe_failure(error, URLS)
    assert line is not None and line.startswith("disk full: cannot write /srv/objects/seg-1")
    assert "free space" in line and "\n" not in line


@pytest.mark.parametrize("code", [errno.EDQUOT, errno.EFBIG])
def test_quota_and_file_size_limit_are_a_full_disk(code: int) -> None:
    line = describe_failure(OSError(code, "limit", "/srv/x"), URLS)
    assert line is not None and line.startswith("disk full")


def test_a_read_only_file_system_names_the_file_and_lh_var_dir() -> None:
    line = describe_failure(OSError(errno.EROFS, "Read-only file system", "/srv/x"), URLS)
    assert line is not None and "cannot write /srv/x: it is read-only" in line
    assert "LH_VAR_DIR" in line


def _read_only_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    return f"file:{path}?mode=ro"


def test_sqlite_refusing_a_write_is_the_event_store_read_only(tmp_path: Path) -> None:
    connection = sqlite3.connect(_read_only_sqlite(tmp_path), uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:
        connection.execute("INSERT INTO t VALUES (1)")
    line = describe_failure(raised.value, URLS)
    assert line is not None and "the event store at sqlite:////srv/events.sqlite" in line
    assert "read-only" in line and "LH_EVENT_STORE" in line


def test_sqlalchemy_refusing_a_write_is_the_sql_read_model(tmp_path: Path) -> None:
    uri = _read_only_sqlite(tmp_path)
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    with pytest.raises(OperationalError) as raised, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    line = describe_failure(raised.value, URLS)
    assert line is not None and "the SQL read model" in line and "LH_SQL_URL" in line


def test_our_own_error_quoting_a_driver_is_described_by_the_driver_error() -> None:
    """``RunFailedError`` repeats the driver's words; the line names the driver's store."""
    failure = RunFailed(
        run_id="bt-1",
        error_type="OperationalError",
        message="database or disk is full",
        resumable=True,
    )
    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as error:
            raise RunFailedError("bt-1", failure, recorded=False) from error
    except RunFailedError as wrapper:
        line = describe_failure(wrapper, URLS)
    assert line is not None and line.startswith("disk full: cannot write the event store")


def test_a_sqlite_file_locked_by_another_process_names_the_store_and_the_way_out(
    tmp_path: Path,
) -> None:
    from eventsourcing.persistence import OperationalError as StoreOperationalError

    path = tmp_path / "events.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as raised:
        waiter.execute("BEGIN IMMEDIATE")
    holder.execute("ROLLBACK")
    wrapped = StoreOperationalError(raised.value)
    wrapped.__cause__ = raised.value
    line = describe_failure(wrapped, URLS)
    assert line is not None and "\n" not in line
    store = "the event store at sqlite:////srv/events.sqlite (LH_EVENT_STORE)"
    assert line.startswith(f"{store} is locked")
    assert "what was recorded before is intact" in line
