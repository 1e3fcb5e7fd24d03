"""Alembic environment: always online, on the connection ``projections.sql.migrate`` hands in."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from projections.sql.migrate import VERSION_TABLE
from projections.sql.models import Base
from projections.sql.types import constructor_of

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through projections.sql.migrate, which passes a connection")


def render_item(kind: str, item: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write our exact column types as the functions that build them, in generated revisions."""
    constructor = constructor_of(item) if kind == "type" else None
    if constructor is None:
        return False  # alembic's own rendering
    autogen.imports.add("from projections.sql.types import exact_decimal, utc_micros")
    return constructor


metadata = context.config.attributes.get("metadata", Base.metadata)
assert isinstance(metadata, MetaData)
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
