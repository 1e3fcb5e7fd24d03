"""Checkpoints record the identity of the event store the read model was built from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``projection_checkpoints.store_id`` (NULL: not recorded yet)."""
    with op.batch_alter_table("projection_checkpoints") as batch:
        batch.add_column(sa.Column("store_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop ``projection_checkpoints.store_id``."""
    with op.batch_alter_table("projection_checkpoints") as batch:
        batch.drop_column("store_id")
