"""Engines for the read model: MySQL/MariaDB or embedded SQLite.

A MySQL database is created only when asked (``create=True``: ``lh projections init``); a
missing one is otherwise an error naming it, so a mistyped name in ``LH_SQL_URL`` is never
silently created empty. An embedded SQLite file is ours to create, and always is.

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` (connections opened
with the ``lh_write`` execution option) so two writers serialize instead of failing late.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError

from infra.settings import check_url
from infra.sqlite_readonly import read_only_uri, unwritable


class SqlReadModelError(RuntimeError):
    """The read-model database cannot be opened or used; the message says which and why."""


def create_read_model_engine(url: str, *, create: bool = False, read_only: bool = False) -> Engine:
    """An engine on ``url``; ``create`` creates a missing MySQL database (SQLite: always);
    ``read_only`` opens a SQLite file it cannot write read-only (``unwritable_sqlite_file``)."""
    check_url("sql_url", url)
    parsed = make_url(url)
    existing = unwritable_sqlite_file(url) if read_only else None
    if existing is not None:
        return _read_only_sqlite_engine(existing)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    _check_mysql_database(parsed.render_as_string(hide_password=False), create=create)
    return create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)


def unwritable_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names, if it exists and this process cannot write it or its
    directory: a read-only command then reads it as it is. A writable one opens as for every
    command (migrated to head), a missing one is created empty."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    path = Path(database)
    return path if unwritable(path) else None


def _read_only_sqlite_engine(path: Path) -> Engine:
    """Reads only: no WAL switch, no migration, nothing created (see ``infra.sqlite_readonly``)."""
    uri = read_only_uri(path)
    return create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=60, check_same_thread=False),
    )


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: atomic and durable across crashes
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("lh_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _check_mysql_database(url: str, *, create: bool) -> None:
    """Create the database (``create``) or make sure it exists, through a server connection."""
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise SqlReadModelError(f"LH_SQL_URL names no database: {parsed!r}")
    server = create_engine(parsed.set(database=""))
    try:
        with server.begin() as connection:
            if create:
                connection.execute(
                    text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
                )
                return
            found = connection.execute(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"),
                {"name": name},
            ).first()
    except OperationalError as error:
        raise SqlReadModelError(
            f"cannot reach the read-model database at {parsed!r}: {error.orig}"
        ) from None
    finally:
        server.dispose()
    if found is None:
        raise SqlReadModelError(
            f"LH_SQL_URL: database `{name}` does not exist on {parsed.host}:{parsed.port or 3306}; "
            "create it with `lh projections init`, or fix the database name in LH_SQL_URL"
        )
