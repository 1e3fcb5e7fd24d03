"""Initial schema: every table of the SQL read model.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from projections.sql.types import exact_decimal, utc_micros

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "cash_balances",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("balance", exact_decimal(), nullable=False),
        sa.Column("updated_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "currency"),
    )
    op.create_table(
        "fills",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fill_id", sa.String(length=128), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("price", exact_decimal(), nullable=False),
        sa.Column("quantity", exact_decimal(), nullable=False),
        sa.Column("notional", exact_decimal(), nullable=False),
        sa.Column("fee", exact_decimal(), nullable=False),
        sa.Column("fee_currency", sa.String(length=16), nullable=False),
        sa.Column("liquidity", sa.String(length=8), nullable=False),
        sa.Column("venue", sa.String(length=64), nullable=False),
        sa.Column("venue_order_id", sa.String(length=128), nullable=False),
        sa.Column("venue_fill_id", sa.String(length=128), nullable=False),
        sa.Column("event_time", utc_micros(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index(
        "ix_fills_account_strategy_symbol", "fills", ["account", "strategy", "symbol"], unique=False
    )
    op.create_index("ix_fills_fill_id", "fills", ["fill_id"], unique=False)
    op.create_index("ix_fills_order_id", "fills", ["order_id"], unique=False)
    op.create_index("ix_fills_symbol_time", "fills", ["symbol", "event_time"], unique=False)
    op.create_table(
        "kill_switch_log",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("old_state", sa.String(length=16), nullable=True),
        sa.Column("new_state", sa.String(length=16), nullable=True),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_time", utc_micros(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index(
        "ix_kill_switch_log_account_time",
        "kill_switch_log",
        ["account", "event_time"],
        unique=False,
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(length=128), nullable=False),
        sa.Column("client_order_id", sa.String(length=128), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("order_type", sa.String(length=16), nullable=True),
        sa.Column("time_in_force", sa.String(length=8), nullable=True),
        sa.Column("quantity", exact_decimal(), nullable=True),
        sa.Column("limit_price", exact_decimal(), nullable=True),
        sa.Column("stop_price", exact_decimal(), nullable=True),
        sa.Column("venue", sa.String(length=64), nullable=True),
        sa.Column("venue_order_id", sa.String(length=128), nullable=True),
        sa.Column("decision_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("filled_quantity", exact_decimal(), nullable=False),
        sa.Column("leaves_quantity", exact_decimal(), nullable=True),
        sa.Column("average_price", exact_decimal(), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancel_requested_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", utc_micros(), nullable=True),
        sa.Column("accepted_at", utc_micros(), nullable=True),
        sa.Column("first_fill_at", utc_micros(), nullable=True),
        sa.Column("filled_at", utc_micros(), nullable=True),
        sa.Column("cancel_requested_at", utc_micros(), nullable=True),
        sa.Column("canceled_at", utc_micros(), nullable=True),
        sa.Column("rejected_at", utc_micros(), nullable=True),
        sa.Column("expired_at", utc_micros(), nullable=True),
        sa.Column("updated_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index(
        "ix_orders_account_strategy_status",
        "orders",
        ["account", "strategy", "status"],
        unique=False,
    )
    op.create_index("ix_orders_client_order_id", "orders", ["client_order_id"], unique=False)
    op.create_index(
        "ix_orders_symbol_submitted", "orders", ["symbol", "submitted_at"], unique=False
    )
    op.create_table(
        "positions",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("quantity", exact_decimal(), nullable=False),
        sa.Column("cost_basis", exact_decimal(), nullable=False),
        sa.Column("average_price", exact_decimal(), nullable=False),
        sa.Column("realized_pnl", exact_decimal(), nullable=False),
        sa.Column("fees", exact_decimal(), nullable=False),
        sa.Column("fill_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "strategy", "symbol"),
    )
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", utc_micros(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "risk_decisions",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("decision_id", sa.String(length=128), nullable=False),
        sa.Column("signal_id", sa.String(length=128), nullable=True),
        sa.Column("client_order_id", sa.String(length=128), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("quantity", exact_decimal(), nullable=False),
        sa.Column("order_type", sa.String(length=16), nullable=False),
        sa.Column("limit_price", exact_decimal(), nullable=True),
        sa.Column("reference_price", exact_decimal(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("failed_rules", sa.Text(), nullable=False),
        sa.Column("event_time", utc_micros(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index(
        "ix_risk_decisions_account_strategy_time",
        "risk_decisions",
        ["account", "strategy", "event_time"],
        unique=False,
    )
    op.create_index(
        "ix_risk_decisions_approved_time",
        "risk_decisions",
        ["approved", "event_time"],
        unique=False,
    )
    op.create_index(
        "ix_risk_decisions_decision_id", "risk_decisions", ["decision_id"], unique=False
    )
    op.create_table(
        "risk_limit_changes",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("limit_name", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.String(length=255), nullable=True),
        sa.Column("new_value", sa.String(length=255), nullable=False),
        sa.Column("operator", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event_time", utc_micros(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index(
        "ix_risk_limit_changes_account_limit",
        "risk_limit_changes",
        ["account", "limit_name"],
        unique=False,
    )
    op.create_table(
        "risk_limits",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("limit_name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "limit_name"),
    )
    op.create_table(
        "risk_rule_outcomes",
        sa.Column("decision_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sequence", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("limit_value", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("decision_position", "sequence"),
    )
    op.create_index(
        "ix_risk_rule_outcomes_rule_passed", "risk_rule_outcomes", ["rule", "passed"], unique=False
    )
    op.create_table(
        "strategy_runs",
        sa.Column("run_id", sa.String(length=128), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("symbols", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("initial_cash", exact_decimal(), nullable=False),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("config_hash", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", utc_micros(), nullable=True),
        sa.Column("stopped_at", utc_micros(), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("final_equity", exact_decimal(), nullable=True),
        sa.Column("equity", exact_decimal(), nullable=True),
        sa.Column("cash", exact_decimal(), nullable=True),
        sa.Column("realized_pnl", exact_decimal(), nullable=True),
        sa.Column("unrealized_pnl", exact_decimal(), nullable=True),
        sa.Column("fees", exact_decimal(), nullable=True),
        sa.Column("valued_at", utc_micros(), nullable=True),
        sa.Column("updated_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index(
        "ix_strategy_runs_account_strategy", "strategy_runs", ["account", "strategy"], unique=False
    )
    op.create_table(
        "trading_states",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kill_switch_engaged", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", utc_micros(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("trading_states")
    op.drop_index("ix_strategy_runs_account_strategy", table_name="strategy_runs")
    op.drop_table("strategy_runs")
    op.drop_index("ix_risk_rule_outcomes_rule_passed", table_name="risk_rule_outcomes")
    op.drop_table("risk_rule_outcomes")
    op.drop_table("risk_limits")
    op.drop_index("ix_risk_limit_changes_account_limit", table_name="risk_limit_changes")
    op.drop_table("risk_limit_changes")
    op.drop_index("ix_risk_decisions_decision_id", table_name="risk_decisions")
    op.drop_index("ix_risk_decisions_approved_time", table_name="risk_decisions")
    op.drop_index("ix_risk_decisions_account_strategy_time", table_name="risk_decisions")
    op.drop_table("risk_decisions")
    op.drop_table("projection_checkpoints")
    op.drop_table("positions")
    op.drop_index("ix_orders_symbol_submitted", table_name="orders")
    op.drop_index("ix_orders_client_order_id", table_name="orders")
    op.drop_index("ix_orders_account_strategy_status", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_kill_switch_log_account_time", table_name="kill_switch_log")
    op.drop_table("kill_switch_log")
    op.drop_index("ix_fills_symbol_time", table_name="fills")
    op.drop_index("ix_fills_order_id", table_name="fills")
    op.drop_index("ix_fills_fill_id", table_name="fills")
    op.drop_index("ix_fills_account_strategy_symbol", table_name="fills")
    op.drop_table("fills")
    op.drop_table("cash_balances")
