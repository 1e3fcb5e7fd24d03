"""The analytics schema: one ReplacingMergeTree fact table per kind of fact, plus a checkpoint.

Why these engines and keys:

* Every fact row carries the global ``position`` of its event and is a pure function of that
  event, so a re-delivered event produces a byte-identical row with an identical sort key.
  ReplacingMergeTree collapses such rows, and every named query reads with ``FINAL``, so a
  batch replayed after a crash (rows written, checkpoint not) can never double count.
* Sort keys lead with the columns the named queries filter and group by (strategy, symbol,
  then time) and end with ``position``, which makes the key unique per event.
* Monthly partitions (``toYYYYMM`` of the event or bar time) keep parts few at minute-bar
  volumes and let time-range filters prune whole months; a re-delivered row lands in the
  same partition as its twin, which is what ReplacingMergeTree needs to collapse it.
* Money, prices and quantities are ``Decimal(38, 18)``; times are ``DateTime64(6, 'UTC')``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.events.base import DomainEvent
from domain.events.catalog import OrderAccepted, OrderSubmitted
from domain.orders import STATUS_AFTER, TERMINAL_EVENTS, OrderStatus
from projections.queries.state import FILLED_QUANTITY_EVENTS

DEC = "Decimal(38, 18)"
TIME = "DateTime64(6, 'UTC')"
LC = "LowCardinality(String)"

FACT_TABLES: dict[str, str] = {
    "fills": f"""
        position UInt64, event_time {TIME}, fill_id String, order_id String, account {LC},
        strategy {LC}, symbol {LC}, side {LC}, price {DEC}, quantity {DEC}, notional {DEC},
        fee {DEC}, fee_currency {LC}, liquidity {LC}, venue {LC}
    """,
    "order_events": f"""
        position UInt64, event_time {TIME}, order_id String, kind {LC}, account {LC},
        strategy {LC}, symbol {LC}, side {LC}, order_type {LC}, quantity {DEC},
        filled_quantity {DEC}, average_price Nullable({DEC}), decision_id String, venue {LC},
        reason String
    """,
    "signals": f"""
        position UInt64, event_time {TIME}, signal_id String, run_id {LC}, strategy {LC},
        symbol {LC}, side {LC}, quantity {DEC}, target_position {DEC}, bar_time {TIME},
        bar_close {DEC}, reason String
    """,
    "risk_decisions": f"""
        position UInt64, event_time {TIME}, decision_id String, signal_id String,
        client_order_id String, account {LC}, strategy {LC}, symbol {LC}, side {LC},
        order_type {LC}, quantity {DEC}, reference_price Nullable({DEC}),
        limit_price Nullable({DEC}), approved UInt8, rule Array({LC}), rule_passed Array(UInt8),
        rule_value Array(String), rule_limit Array(String)
    """,
    "portfolio_values": f"""
        position UInt64, event_time {TIME}, run_id {LC}, account {LC}, strategy {LC},
        cash {DEC}, positions_value {DEC}, equity {DEC}, realized_pnl {DEC},
        unrealized_pnl {DEC}, fees {DEC}, symbols Array({LC}), quantities Array({DEC})
    """,
    "bars": f"""
        position UInt64, event_time {TIME}, symbol {LC}, interval {LC}, open_time {TIME},
        open {DEC}, high {DEC}, low {DEC}, close {DEC}, volume {DEC}
    """,
    "runs": f"""
        position UInt64, event_time {TIME}, kind {LC}, run_id String, strategy {LC},
        account {LC}, mode {LC}, initial_cash Nullable({DEC}), final_equity Nullable({DEC}),
        reason String
    """,
}

_BY_MONTH = "PARTITION BY toYYYYMM(event_time)"
_ENGINE: dict[str, str] = {
    "fills": f"{_BY_MONTH} ORDER BY (strategy, symbol, event_time, position)",
    # Grouped by order_id to build each order's lifecycle: keep an order's events together.
    "order_events": f"{_BY_MONTH} ORDER BY (order_id, position)",
    "signals": f"{_BY_MONTH} ORDER BY (strategy, symbol, event_time, position)",
    "risk_decisions": f"{_BY_MONTH} ORDER BY (strategy, symbol, event_time, position)",
    "portfolio_values": f"{_BY_MONTH} ORDER BY (strategy, event_time, position)",
    "bars": "PARTITION BY toYYYYMM(open_time) ORDER BY (symbol, interval, open_time, position)",
    "runs": "ORDER BY (run_id, position)",
}

CHECKPOINT_DDL = f"""
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name String, position UInt64, updated_at {TIME}
) ENGINE = ReplacingMergeTree(position) ORDER BY name
"""

# Which event store the rows came from (``EventStore.identity``): one row per read model name,
# the latest (by ``updated_at``) wins; written once, before the first checkpoint that needs it.
SOURCES_DDL = f"""
CREATE TABLE IF NOT EXISTS projection_sources (
    name String, store_id String, updated_at {TIME}
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY name
"""


def sql_names(classes: Iterable[type[DomainEvent]]) -> str:
    """Event classes as the SQL tuple of the ``kind`` values their rows carry."""
    return "(" + ", ".join(f"'{kind.__name__}'" for kind in classes) + ")"


_FILLING = (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED)

# One row per order: submit -> accept -> first fill -> final, with latencies in microseconds.
ORDER_LIFECYCLE_VIEW = """
CREATE VIEW IF NOT EXISTS order_lifecycle AS
SELECT
    order_id,
    anyIf(account, kind = {submitted}) AS account,
    anyIf(strategy, kind = {submitted}) AS strategy,
    anyIf(symbol, kind = {submitted}) AS symbol,
    anyIf(side, kind = {submitted}) AS side,
    anyIf(decision_id, kind = {submitted}) AS decision_id,
    anyIf(quantity, kind = {submitted}) AS quantity,
    minIf(position, kind = {submitted}) AS submit_position,
    minIfOrNull(event_time, kind = {submitted}) AS submitted_at,
    minIfOrNull(event_time, kind = {accepted}) AS accepted_at,
    minIfOrNull(event_time, kind IN {filling}) AS first_fill_at,
    minIfOrNull(event_time, kind IN {terminal}) AS final_at,
    argMinIf(kind, position, kind IN {terminal}) AS final_status,
    maxIf(filled_quantity, kind IN {filled}) AS filled_quantity,
    dateDiff('microsecond', submitted_at, accepted_at) AS submit_to_accept_us,
    dateDiff('microsecond', submitted_at, first_fill_at) AS submit_to_first_fill_us,
    dateDiff('microsecond', submitted_at, final_at) AS submit_to_final_us
FROM order_events FINAL
GROUP BY order_id
""".format(
    submitted=f"'{OrderSubmitted.__name__}'",
    accepted=f"'{OrderAccepted.__name__}'",
    filling=sql_names(kind for kind, status in STATUS_AFTER.items() if status in _FILLING),
    terminal=sql_names(TERMINAL_EVENTS),
    filled=sql_names(FILLED_QUANTITY_EVENTS),
)

VIEWS = ("order_lifecycle",)


def create_schema(client: Any) -> None:
    """Create every table and view that is missing; existing ones are left as they are."""
    for table, columns in FACT_TABLES.items():
        client.command(
            f"CREATE TABLE IF NOT EXISTS {table} ({columns.strip()}) "
            f"ENGINE = ReplacingMergeTree {_ENGINE[table]}"
        )
    client.command(CHECKPOINT_DDL)
    client.command(SOURCES_DDL)
    client.command(ORDER_LIFECYCLE_VIEW)


def drop_schema(client: Any) -> None:
    """Drop every table and view of this read model (for a rebuild)."""
    for view in VIEWS:
        client.command(f"DROP VIEW IF EXISTS {view}")
    for table in (*FACT_TABLES, "projection_checkpoints", "projection_sources"):
        client.command(f"DROP TABLE IF EXISTS {table}")


def columns(table: str) -> list[tuple[str, str]]:
    """``(name, ClickHouse type)`` pairs of a fact table, in DDL order."""
    pairs: list[tuple[str, str]] = []
    depth, current = 0, ""
    for char in FACT_TABLES[table] + ",":
        if char == "," and depth == 0:
            name, _, kind = current.strip().partition(" ")
            if name:
                pairs.append((name, kind.strip()))
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return pairs
