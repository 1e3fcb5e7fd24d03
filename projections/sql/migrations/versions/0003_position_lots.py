"""Position lots: the open FIFO lots each position needs to keep folding fills across batches.

Realized PnL and cost basis were folded at average cost before this revision; the rows it left
cannot be continued by FIFO (their lots were never kept), so upgrading empties the read model
and its checkpoints: the runner rebuilds it from the log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from projections.sql.types import exact_decimal

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REBUILT = (
    "orders",
    "fills",
    "positions",
    "cash_balances",
    "risk_decisions",
    "risk_rule_outcomes",
    "strategy_runs",
    "risk_limits",
    "risk_limit_changes",
    "kill_switch_log",
    "trading_states",
    "projection_checkpoints",
)


def upgrade() -> None:
    """Add ``position_lots`` and empty the read model so it is rebuilt under FIFO."""
    op.create_table(
        "position_lots",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("opened_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("quantity", exact_decimal(), nullable=False),
        sa.Column("price", exact_decimal(), nullable=False),
        sa.PrimaryKeyConstraint("account", "strategy", "symbol", "opened_position"),
    )
    for table in _REBUILT:
        op.execute(sa.text(f"DELETE FROM {table}"))


def downgrade() -> None:
    """Drop ``position_lots``."""
    op.drop_table("position_lots")
