"""Alembic environment: always online, on the connection ``projections.sql.migrate`` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from projections.sql.migrate import VERSION_TABLE
from projections.sql.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through projections.sql.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
