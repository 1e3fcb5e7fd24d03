"""Run the read model's alembic migrations from code: no alembic.ini, no dependence on the cwd.

On MySQL a named lock (``GET_LOCK``) keeps two processes opening the same database at once
from racing through the DDL.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "lh_sql_readmodel_version"
MIGRATIONS = Path(__file__).with_name("migrations")
VERSIONS = MIGRATIONS / "versions"
_LOCK = "lh_sql_readmodel_migrations"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _migration_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name not in ("mysql", "mariadb"):
        yield
        return
    got = connection.execute(text("SELECT GET_LOCK(:name, 120)"), {"name": _LOCK}).scalar()
    if got != 1:
        raise RuntimeError("timed out waiting for another process migrating the SQL read model")
    try:
        yield
    finally:
        connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": _LOCK})


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    with engine.connect() as connection, _migration_lock(connection):
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Drop down to ``revision``; ``base`` drops every read-model table."""
    with engine.connect() as connection, _migration_lock(connection):
        command.downgrade(alembic_config(connection), revision)
        connection.commit()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def new_revision(
    message: str, *, directory: Path = VERSIONS, metadata: MetaData | None = None
) -> Path:
    """Write the next revision, generated from the difference between the models (or
    ``metadata``) and a scratch SQLite database migrated to head; returns its path.

    Numbered after the head (``0004`` after ``0003``); ``directory`` other than ``VERSIONS``
    is for trying it out. Review the file, then run ``ruff format`` on it."""
    head = head_revision()
    rev_id = f"{int(head or 0) + 1:04d}"
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lh-sql-revision-") as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        try:
            upgrade(engine)
            with engine.connect() as connection:
                config = alembic_config(connection)
                if directory != VERSIONS:
                    config.set_main_option("path_separator", "os")
                    config.set_main_option(
                        "version_locations", f"{VERSIONS}{os.pathsep}{directory}"
                    )
                if metadata is not None:
                    config.attributes["metadata"] = metadata
                script = command.revision(
                    config,
                    message=message,
                    autogenerate=True,
                    rev_id=rev_id,
                    version_path=str(directory),
                )
        finally:
            engine.dispose()
    if script is None or isinstance(script, list):
        raise RuntimeError("alembic wrote no single revision")
    return Path(script.path)
