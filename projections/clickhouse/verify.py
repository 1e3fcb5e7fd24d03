"""Compare the ClickHouse facts with ``LogState`` folded straight from the log.

Used by ``lh projections verify``: every difference becomes one readable line.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.orders import STATUS_AFTER_NAME
from projections.clickhouse.schema import sql_names
from projections.queries.state import FILLED_QUANTITY_EVENTS, LogState

ZERO = Decimal(0)
MAX_LINES_PER_CHECK = 20


def mismatches(client: Any, state: LogState, checkpoint: int) -> list[str]:
    """Differences between the facts up to ``checkpoint`` and ``state`` (folded to it).

    Rows above the checkpoint are a crashed writer's not yet removed, or on a server those a
    running writer is inserting: not part of what the read model claims."""
    upto = {"cp": checkpoint}
    return [
        *_fill_totals(client, state, upto),
        *_positions(client, state, upto),
        *_orders(client, state, upto),
        *_risk_counts(client, state, upto),
    ]


def _fill_totals(client: Any, state: LogState, upto: dict[str, int]) -> list[str]:
    stored = {
        (strategy, symbol): (int(count), quantity, notional, fees)
        for strategy, symbol, count, quantity, notional, fees in client.query(
            "SELECT strategy, symbol, count(), sum(quantity), sum(notional), sum(fee) "
            "FROM fills FINAL WHERE position <= {cp:UInt64} GROUP BY strategy, symbol",
            parameters=upto,
        ).result_rows
    }
    empty = (0, ZERO, ZERO, ZERO)
    problems: list[str] = []
    for key in sorted(set(stored) | set(state.fills)):
        totals = state.fills.get(key)
        want = (totals.count, totals.quantity, totals.notional, totals.fees) if totals else empty
        got = stored.get(key, empty)
        labels = ("count", "quantity", "notional", "fees")
        for label, left, right in zip(labels, got, want, strict=True):
            if left != right:
                problems.append(f"fills {key[0]}/{key[1]} {label}: clickhouse {left}, log {right}")
    return problems


def _positions(client: Any, state: LogState, upto: dict[str, int]) -> list[str]:
    stored = {
        (account, strategy, symbol): quantity
        for account, strategy, symbol, quantity in client.query(
            "SELECT account, strategy, symbol, sum(if(side = 'BUY', quantity, -quantity)) "
            "FROM fills FINAL WHERE position <= {cp:UInt64} GROUP BY account, strategy, symbol",
            parameters=upto,
        ).result_rows
    }
    problems = [
        f"position {'/'.join(key)}: clickhouse {stored.get(key)}, log {state.positions.get(key)}"
        for key in sorted(set(stored) | set(state.positions))
        if stored.get(key) != state.positions.get(key)
    ]
    return _capped("positions", problems)


def _orders(client: Any, state: LogState, upto: dict[str, int]) -> list[str]:
    stored = {
        order_id: (STATUS_AFTER_NAME[kind], filled)
        for order_id, kind, filled in client.query(
            "SELECT order_id, argMax(kind, position), "
            "ifNull(argMaxIf(filled_quantity, position, "
            f"kind IN {sql_names(FILLED_QUANTITY_EVENTS)}), 0) "
            "FROM order_events FINAL WHERE position <= {cp:UInt64} GROUP BY order_id",
            parameters=upto,
        ).result_rows
    }
    expected = {
        order_id: (order.status, order.filled_quantity) for order_id, order in state.orders.items()
    }
    problems = [
        f"order {order_id}: clickhouse {stored.get(order_id)}, log {expected.get(order_id)}"
        for order_id in sorted(set(stored) | set(expected))
        if stored.get(order_id) != expected.get(order_id)
    ]
    return _capped("orders", problems)


def _risk_counts(client: Any, state: LogState, upto: dict[str, int]) -> list[str]:
    total, approved = client.query(
        "SELECT count(), countIf(approved = 1) FROM risk_decisions FINAL "
        "WHERE position <= {cp:UInt64}",
        parameters=upto,
    ).result_rows[0]
    return [
        f"{label}: clickhouse {left}, log {right}"
        for label, left, right in (
            ("risk decisions", int(total), state.risk_decisions),
            ("approved decisions", int(approved), state.approved),
            ("rejected decisions", int(total) - int(approved), state.rejected),
        )
        if left != right
    ]


def _capped(what: str, problems: list[str]) -> list[str]:
    if len(problems) <= MAX_LINES_PER_CHECK:
        return problems
    hidden = len(problems) - MAX_LINES_PER_CHECK
    return [*problems[:MAX_LINES_PER_CHECK], f"... and {hidden} more {what} mismatches"]
