"""Compare the SQL rows with state recomputed from the log (``projections.queries.state.LogState``).

Positions are compared by quantity, realized PnL and cost basis (FIFO, ``domain.accounting``).

Everything is read in one transaction, so a runner applying batches meanwhile cannot make the
rows and the checkpoint disagree. Sums are done in Python with exact decimals on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.engine import Connection

from projections.queries.state import FillTotals, LogState, OrderState
from projections.sql.models import CASH, DECISIONS, FILLS, ORDERS, POSITIONS

if TYPE_CHECKING:
    from projections.sql.projection import SqlProjection

ZERO = Decimal(0)


def sql_mismatches(projection: SqlProjection, state: LogState) -> list[str]:
    problems: list[str] = []
    with projection.engine.connect() as connection, connection.begin():
        checkpoint = projection._read_checkpoint(connection, lock=False)
        if checkpoint != state.head:
            return [
                f"{projection.name}: checkpoint is {checkpoint} but the log state is at "
                f"{state.head}; stop the runner (or catch up) and verify again"
            ]
        orders = {
            row.order_id: OrderState(row.status, row.filled_quantity, row.symbol, row.strategy)
            for row in _stream(
                connection,
                select(
                    ORDERS.c.order_id,
                    ORDERS.c.status,
                    ORDERS.c.filled_quantity,
                    ORDERS.c.symbol,
                    ORDERS.c.strategy,
                ),
            )
        }
        problems += _compare("order", orders, state.orders, _order_diff)
        positions: dict[tuple[str, str, str], Decimal] = {}
        realized: dict[tuple[str, str, str], Decimal] = {}
        cost: dict[tuple[str, str, str], Decimal] = {}
        for row in _stream(
            connection,
            select(
                POSITIONS.c.account,
                POSITIONS.c.strategy,
                POSITIONS.c.symbol,
                POSITIONS.c.quantity,
                POSITIONS.c.realized_pnl,
                POSITIONS.c.cost_basis,
            ),
        ):
            key = (row.account, row.strategy, row.symbol)
            positions[key], realized[key], cost[key] = (
                row.quantity,
                row.realized_pnl,
                row.cost_basis,
            )
        problems += _compare_amounts("position", positions, state.positions)
        problems += _compare_amounts("realized PnL of", realized, state.realized)
        logged_cost = {key: lots.cost for key, lots in state.lots.items()}
        problems += _compare_amounts("cost basis of", cost, logged_cost)
        fills: dict[tuple[str, str], FillTotals] = {}
        for row in _stream(
            connection,
            select(FILLS.c.strategy, FILLS.c.symbol, FILLS.c.price, FILLS.c.quantity, FILLS.c.fee),
        ):
            totals = fills.setdefault((row.strategy, row.symbol), FillTotals())
            totals.count += 1
            totals.quantity += row.quantity
            totals.notional += row.price * row.quantity
            totals.fees += row.fee
        problems += _compare("fills of", fills, state.fills, _fill_diff)
        cash = {
            (row.account, row.currency): row.balance
            for row in connection.execute(select(CASH.c.account, CASH.c.currency, CASH.c.balance))
        }
        problems += _compare_amounts("cash", cash, state.cash)
        total, approved = connection.execute(
            select(func.count(), func.coalesce(func.sum(cast(DECISIONS.c.approved, Integer)), 0))
        ).one()
        counted = (int(total), int(approved), int(total) - int(approved))
        expected = (state.risk_decisions, state.approved, state.rejected)
        if counted != expected:
            problems.append(
                f"risk decisions (total, approved, rejected): {counted} in {projection.name}, "
                f"{expected} in the log"
            )
    return [f"{projection.name}: {problem}" for problem in problems]


def _stream(connection: Connection, query: Any) -> Iterator[Any]:
    yield from connection.execution_options(yield_per=10_000).execute(query)


def _compare(
    what: str, actual: Mapping[Any, Any], expected: Mapping[Any, Any], diff: Any
) -> list[str]:
    problems = [f"{what} {key}: in the log, missing here" for key in expected if key not in actual]
    problems += [f"{what} {key}: here, not in the log" for key in actual if key not in expected]
    for key, want in expected.items():
        have = actual.get(key)
        if have is not None:
            problems += [f"{what} {key}: {detail}" for detail in diff(have, want)]
    return problems


def _compare_amounts(
    what: str, actual: Mapping[Any, Decimal], expected: Mapping[Any, Decimal]
) -> list[str]:
    """Absent and zero are the same amount."""
    return [
        f"{what} {key}: {actual.get(key, ZERO)} here, {expected.get(key, ZERO)} in the log"
        for key in sorted(set(actual) | set(expected))
        if actual.get(key, ZERO) != expected.get(key, ZERO)
    ]


def _order_diff(have: OrderState, want: OrderState) -> list[str]:
    return [
        f"{field} {getattr(have, field)} here, {getattr(want, field)} in the log"
        for field in ("status", "filled_quantity", "symbol", "strategy")
        if getattr(have, field) != getattr(want, field)
    ]


def _fill_diff(have: FillTotals, want: FillTotals) -> list[str]:
    return [
        f"{field} {getattr(have, field)} here, {getattr(want, field)} in the log"
        for field in ("count", "quantity", "notional", "fees")
        if getattr(have, field) != getattr(want, field)
    ]
