"""Read-only queries over the SQL read model, for the API, reports and the command line.

Each returns plain dicts (column name -> value; decimals stay ``Decimal``, times are naive UTC
``datetime``), newest or most relevant first, and never writes. Callers pass an ``Engine`` (for
example ``SqlProjection.open(url).engine``) so queries need no projection machinery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, Table, select

from domain.orders import TERMINAL
from projections.sql.models import (
    CASH,
    CHECKPOINTS,
    DECISIONS,
    FILLS,
    KILL_LOG,
    LIMIT_CHANGES,
    LIMITS,
    ORDERS,
    OUTCOMES,
    POSITIONS,
    RUNS,
    TRADING,
)

Row = dict[str, Any]


def _rows(engine: Engine, query: Select[Any]) -> list[Row]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _where(query: Select[Any], table: Table, **equal: Any) -> Select[Any]:
    for column, value in equal.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    return query


def order(engine: Engine, order_id: str) -> Row | None:
    found = _rows(engine, select(ORDERS).where(ORDERS.c.order_id == order_id))
    return found[0] if found else None


def orders(
    engine: Engine,
    *,
    account: str | None = None,
    strategy: str | None = None,
    status: str | None = None,
    symbol: str | None = None,
    open_only: bool = False,
    limit: int = 1_000,
) -> list[Row]:
    """Orders, most recently changed first; ``open_only`` keeps those not yet terminal."""
    query = _where(
        select(ORDERS), ORDERS, account=account, strategy=strategy, status=status, symbol=symbol
    )
    if open_only:
        query = query.where(ORDERS.c.status.not_in(sorted(TERMINAL)))
    return _rows(engine, query.order_by(ORDERS.c.last_position.desc()).limit(limit))


def fills(
    engine: Engine,
    *,
    order_id: str | None = None,
    account: str | None = None,
    strategy: str | None = None,
    symbol: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 10_000,
) -> list[Row]:
    """Fills in log order (oldest first) within [since, until)."""
    query = _where(
        select(FILLS), FILLS, order_id=order_id, account=account, strategy=strategy, symbol=symbol
    )
    if since is not None:
        query = query.where(FILLS.c.event_time >= since)
    if until is not None:
        query = query.where(FILLS.c.event_time < until)
    return _rows(engine, query.order_by(FILLS.c.position).limit(limit))


def positions(
    engine: Engine,
    *,
    account: str | None = None,
    strategy: str | None = None,
    include_flat: bool = False,
) -> list[Row]:
    query = _where(select(POSITIONS), POSITIONS, account=account, strategy=strategy)
    rows = _rows(
        engine, query.order_by(POSITIONS.c.account, POSITIONS.c.strategy, POSITIONS.c.symbol)
    )
    return rows if include_flat else [row for row in rows if row["quantity"] != 0]


def cash_balances(engine: Engine, *, account: str | None = None) -> list[Row]:
    query = _where(select(CASH), CASH, account=account)
    return _rows(engine, query.order_by(CASH.c.account, CASH.c.currency))


def risk_decisions(
    engine: Engine,
    *,
    account: str | None = None,
    strategy: str | None = None,
    approved: bool | None = None,
    limit: int = 1_000,
    with_rules: bool = True,
) -> list[Row]:
    """Decisions, newest first; each with its ``rules`` (every rule evaluated) when asked."""
    query = _where(
        select(DECISIONS), DECISIONS, account=account, strategy=strategy, approved=approved
    )
    decisions = _rows(engine, query.order_by(DECISIONS.c.position.desc()).limit(limit))
    if with_rules and decisions:
        by_position = {row["position"]: row for row in decisions}
        for row in decisions:
            row["rules"] = []
        outcomes = _rows(
            engine,
            select(OUTCOMES)
            .where(OUTCOMES.c.decision_position.in_(list(by_position)))
            .order_by(OUTCOMES.c.decision_position, OUTCOMES.c.sequence),
        )
        for outcome in outcomes:
            by_position[outcome["decision_position"]]["rules"].append(outcome)
    return decisions


def strategy_runs(engine: Engine, *, account: str | None = None) -> list[Row]:
    query = _where(select(RUNS), RUNS, account=account)
    return _rows(engine, query.order_by(RUNS.c.last_position.desc()))


def risk_limits(engine: Engine, *, account: str | None = None) -> list[Row]:
    query = _where(select(LIMITS), LIMITS, account=account)
    return _rows(engine, query.order_by(LIMITS.c.account, LIMITS.c.limit_name))


def risk_limit_history(
    engine: Engine, *, account: str | None = None, limit_name: str | None = None
) -> list[Row]:
    """Every change, oldest first (the audit trail of limits)."""
    query = _where(select(LIMIT_CHANGES), LIMIT_CHANGES, account=account, limit_name=limit_name)
    return _rows(engine, query.order_by(LIMIT_CHANGES.c.position))


def kill_switch_log(engine: Engine, *, account: str | None = None) -> list[Row]:
    """Kill-switch engagements/releases and trading-state changes, oldest first."""
    query = _where(select(KILL_LOG), KILL_LOG, account=account)
    return _rows(engine, query.order_by(KILL_LOG.c.position))


def trading_state(engine: Engine, account: str) -> Row | None:
    found = _rows(engine, select(TRADING).where(TRADING.c.account == account))
    return found[0] if found else None


def checkpoints(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: int(position)
            for name, position in connection.execute(
                select(CHECKPOINTS.c.name, CHECKPOINTS.c.position)
            )
        }
