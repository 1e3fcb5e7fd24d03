"""The current-state read model: SQLAlchemy 2 models shared by MySQL/MariaDB and SQLite.

Every row carries ``last_position``: the global position of the event that last changed it, so
an auditor can go from any row straight to the fact behind it. Append-only fact tables (fills,
risk decisions, limit changes, the kill-switch log) are keyed by the event's position.
These models are the one description of each table: its columns, indexes and the value each
column of a new row starts at (``default``, read by ``row_defaults``; a Python-side default,
so it changes no DDL). The alembic migrations in ``migrations/`` create the schema; a test
compares the migrated schema with these models (tests/projections/test_sql_schema.py), and new
revisions are generated from them (docs/runbooks/sql-read-model-migrations.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.orders import OrderStatus
from projections.sql.types import exact_decimal, utc_micros

ID = 128  # ids: order, fill, decision, run ids
NAME = 64  # accounts, strategies, symbols, venues, operators
ZERO = Decimal(0)


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    client_order_id: Mapped[str | None] = mapped_column(String(ID))
    account: Mapped[str] = mapped_column(String(NAME), default="")
    strategy: Mapped[str] = mapped_column(String(NAME), default="")
    symbol: Mapped[str] = mapped_column(String(NAME), default="")
    side: Mapped[str | None] = mapped_column(String(8))
    order_type: Mapped[str | None] = mapped_column(String(16))
    time_in_force: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[Decimal | None] = mapped_column(exact_decimal())
    limit_price: Mapped[Decimal | None] = mapped_column(exact_decimal())
    stop_price: Mapped[Decimal | None] = mapped_column(exact_decimal())
    venue: Mapped[str | None] = mapped_column(String(NAME))
    venue_order_id: Mapped[str | None] = mapped_column(String(ID))
    decision_id: Mapped[str | None] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(24), default=OrderStatus.SUBMITTED.value)
    filled_quantity: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    leaves_quantity: Mapped[Decimal | None] = mapped_column(exact_decimal())
    average_price: Mapped[Decimal | None] = mapped_column(exact_decimal())
    reject_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(NAME))
    submitted_at: Mapped[datetime | None] = mapped_column(utc_micros())
    accepted_at: Mapped[datetime | None] = mapped_column(utc_micros())
    first_fill_at: Mapped[datetime | None] = mapped_column(utc_micros())
    filled_at: Mapped[datetime | None] = mapped_column(utc_micros())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(utc_micros())
    canceled_at: Mapped[datetime | None] = mapped_column(utc_micros())
    rejected_at: Mapped[datetime | None] = mapped_column(utc_micros())
    expired_at: Mapped[datetime | None] = mapped_column(utc_micros())
    updated_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_orders_account_strategy_status", "account", "strategy", "status"),
        Index("ix_orders_symbol_submitted", "symbol", "submitted_at"),
        Index("ix_orders_client_order_id", "client_order_id"),
        Index("ix_orders_last_position", "last_position"),
    )


class Fill(Base):
    __tablename__ = "fills"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fill_id: Mapped[str] = mapped_column(String(ID))
    order_id: Mapped[str] = mapped_column(String(ID))
    account: Mapped[str] = mapped_column(String(NAME))
    strategy: Mapped[str] = mapped_column(String(NAME))
    symbol: Mapped[str] = mapped_column(String(NAME))
    side: Mapped[str] = mapped_column(String(8))
    price: Mapped[Decimal] = mapped_column(exact_decimal())
    quantity: Mapped[Decimal] = mapped_column(exact_decimal())
    notional: Mapped[Decimal] = mapped_column(exact_decimal())
    fee: Mapped[Decimal] = mapped_column(exact_decimal())
    fee_currency: Mapped[str] = mapped_column(String(16))
    liquidity: Mapped[str] = mapped_column(String(8))
    venue: Mapped[str] = mapped_column(String(NAME))
    venue_order_id: Mapped[str] = mapped_column(String(ID))
    venue_fill_id: Mapped[str] = mapped_column(String(ID))
    event_time: Mapped[datetime] = mapped_column(utc_micros())

    __table_args__ = (
        Index("ix_fills_order_id", "order_id"),
        Index("ix_fills_fill_id", "fill_id"),
        Index("ix_fills_symbol_time", "symbol", "event_time"),
        Index("ix_fills_account_strategy_symbol", "account", "strategy", "symbol"),
    )


class Position(Base):
    __tablename__ = "positions"

    account: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    cost_basis: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    average_price: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    realized_pnl: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    fees: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    fill_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)


class PositionLot(Base):
    """An open FIFO lot of a position (``domain.accounting``): what its next fills close first.

    Keyed by the log position of the fill that opened it, so lots sort oldest first.
    """

    __tablename__ = "position_lots"

    account: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    opened_position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    quantity: Mapped[Decimal] = mapped_column(exact_decimal())
    price: Mapped[Decimal] = mapped_column(exact_decimal())


class CashBalance(Base):
    __tablename__ = "cash_balances"

    account: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    currency: Mapped[str] = mapped_column(String(16), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    updated_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)


class RiskDecision(Base):
    __tablename__ = "risk_decisions"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    decision_id: Mapped[str] = mapped_column(String(ID))
    signal_id: Mapped[str | None] = mapped_column(String(ID))
    client_order_id: Mapped[str] = mapped_column(String(ID))
    account: Mapped[str] = mapped_column(String(NAME))
    strategy: Mapped[str] = mapped_column(String(NAME))
    symbol: Mapped[str] = mapped_column(String(NAME))
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(exact_decimal())
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(exact_decimal())
    reference_price: Mapped[Decimal | None] = mapped_column(exact_decimal())
    approved: Mapped[bool] = mapped_column(Boolean)
    failed_rules: Mapped[str] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column(utc_micros())

    __table_args__ = (
        Index("ix_risk_decisions_decision_id", "decision_id"),
        Index("ix_risk_decisions_account_strategy_time", "account", "strategy", "event_time"),
        Index("ix_risk_decisions_approved_time", "approved", "event_time"),
    )


class RiskRuleOutcome(Base):
    __tablename__ = "risk_rule_outcomes"

    decision_position: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False
    )
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rule: Mapped[str] = mapped_column(String(NAME))
    passed: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[str] = mapped_column(String(255))
    limit_value: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_risk_rule_outcomes_rule_passed", "rule", "passed"),)


class StrategyRun(Base):
    __tablename__ = "strategy_runs"

    run_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(NAME), default="")
    account: Mapped[str] = mapped_column(String(NAME), default="")
    mode: Mapped[str] = mapped_column(String(16), default="")
    symbols: Mapped[str] = mapped_column(Text, default="[]")
    params: Mapped[str] = mapped_column(Text, default="{}")
    initial_cash: Mapped[Decimal] = mapped_column(exact_decimal(), default=ZERO)
    currency: Mapped[str] = mapped_column(String(16), default="")
    config_hash: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="RUNNING")
    started_at: Mapped[datetime | None] = mapped_column(utc_micros())
    stopped_at: Mapped[datetime | None] = mapped_column(utc_micros())
    stop_reason: Mapped[str | None] = mapped_column(Text)
    final_equity: Mapped[Decimal | None] = mapped_column(exact_decimal())
    equity: Mapped[Decimal | None] = mapped_column(exact_decimal())
    cash: Mapped[Decimal | None] = mapped_column(exact_decimal())
    realized_pnl: Mapped[Decimal | None] = mapped_column(exact_decimal())
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(exact_decimal())
    fees: Mapped[Decimal | None] = mapped_column(exact_decimal())
    valued_at: Mapped[datetime | None] = mapped_column(utc_micros())
    updated_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_strategy_runs_account_strategy", "account", "strategy"),)


class RiskLimit(Base):
    __tablename__ = "risk_limits"

    account: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    limit_name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    changed_by: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)


class RiskLimitChange(Base):
    __tablename__ = "risk_limit_changes"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(NAME))
    limit_name: Mapped[str] = mapped_column(String(NAME))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str] = mapped_column(String(255))
    operator: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column(utc_micros())

    __table_args__ = (Index("ix_risk_limit_changes_account_limit", "account", "limit_name"),)


class KillSwitchLogEntry(Base):
    """Kill-switch engagements/releases and trading-state changes, in log order."""

    __tablename__ = "kill_switch_log"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(NAME))
    action: Mapped[str] = mapped_column(String(24))
    old_state: Mapped[str | None] = mapped_column(String(16))
    new_state: Mapped[str | None] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column(utc_micros())

    __table_args__ = (Index("ix_kill_switch_log_account_time", "account", "event_time"),)


class TradingStateRow(Base):
    """Per account: ACTIVE / REDUCING / HALTED and whether the kill switch is engaged."""

    __tablename__ = "trading_states"

    account: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    kill_switch_engaged: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(utc_micros())
    last_position: Mapped[int] = mapped_column(BigInteger)


class Checkpoint(Base):
    """One row per projection stored in this database: the last position applied, and from
    which event store (NULL until the first batch, or in a read model built before 0002)."""

    __tablename__ = "projection_checkpoints"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(utc_micros())
    store_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The identity of the event store the rows were built from (``EventStore.identity``)."""


def row_defaults(table: Table) -> dict[str, Any]:
    """A new row of ``table``: every column at its default (``None`` where it has none)."""
    row: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if default is not None and not default.is_scalar:
            raise TypeError(f"{table.name}.{column.name}: a row default must be a plain value")
        row[column.name] = None if default is None else default.arg  # type: ignore[attr-defined]
    return row


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


ORDERS, FILLS, POSITIONS, CASH = _table(Order), _table(Fill), _table(Position), _table(CashBalance)
LOTS = _table(PositionLot)
DECISIONS, OUTCOMES = _table(RiskDecision), _table(RiskRuleOutcome)
RUNS, LIMITS, LIMIT_CHANGES = _table(StrategyRun), _table(RiskLimit), _table(RiskLimitChange)
KILL_LOG, TRADING = _table(KillSwitchLogEntry), _table(TradingStateRow)
CHECKPOINTS = _table(Checkpoint)

VIEW_TABLES: tuple[Table, ...] = (
    ORDERS,
    FILLS,
    POSITIONS,
    LOTS,
    CASH,
    DECISIONS,
    OUTCOMES,
    RUNS,
    LIMITS,
    LIMIT_CHANGES,
    KILL_LOG,
    TRADING,
)
