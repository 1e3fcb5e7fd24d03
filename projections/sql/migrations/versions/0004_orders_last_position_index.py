"""An index on ``orders.last_position``: ``GET /orders`` pages the most recently changed orders
first, which without it scans and sorts the whole table for every page.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the index (no rows change)."""
    op.create_index("ix_orders_last_position", "orders", ["last_position"], unique=False)


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_orders_last_position", table_name="orders")
