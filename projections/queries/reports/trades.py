"""The trade report (``lh report trades``): per account and strategy, the period's orders and
fills, fees, realized and unrealized PnL, positions and cash at the period's end, turnover,
performance statistics with the equity and drawdown chart, and the largest exposures.

Orders and fills come from the SQL read model; funding, marks and valuations (which it keeps
no history of) from the log. ``trades_replay`` recomputes every figure from the log alone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from domain.events.envelope import to_microseconds
from projections.queries.reports.document import (
    Chart,
    ChartKind,
    Figure,
    ReportDocument,
    Section,
    Series,
    Table,
)
from projections.queries.reports.ledger import FillFact, StrategyBook, TradesLedger
from projections.queries.reports.numbers import (
    ZERO,
    amount,
    drawdowns,
    instant,
    moment,
    ratio,
    thinned,
)
from projections.queries.reports.source import ReportScope, ReportSource
from projections.queries.reports.trades_replay import LOG_FED, feed_log
from projections.sql.models import FILLS, ORDERS

CHART_POINTS = 400
LARGEST_EXPOSURES = 10
LABELS = {
    "orders": "orders submitted",
    "fills": "fills",
    "bought": "quantity bought",
    "sold": "quantity sold",
    "turnover": "turnover (sum of price * quantity)",
    "fees": "fees",
    "realized_pnl": "realized PnL (FIFO, gross of fees)",
    "unrealized_pnl": "unrealized PnL at the end",
    "open_positions": "open positions at the end",
    "start_equity": "first equity valuation",
    "end_equity": "last equity valuation",
    "return": "return (last / first valuation - 1)",
    "max_drawdown": "maximum drawdown (fraction of peak)",
}
# The order's timestamp columns, latest first wins: its status at the period's end.
STATUS_TIMES = (
    ("expired_at", "EXPIRED"),
    ("rejected_at", "REJECTED"),
    ("canceled_at", "CANCELED"),
    ("filled_at", "FILLED"),
    ("cancel_requested_at", "PENDING_CANCEL"),
    ("first_fill_at", "PARTIALLY_FILLED"),
    ("accepted_at", "ACCEPTED"),
    ("submitted_at", "SUBMITTED"),
)


def build_trades_report(source: ReportSource, scope: ReportScope) -> ReportDocument:
    """The trade report of ``scope``, read from ``source`` (its SQL read model is required)."""
    if source.engine is None:
        raise ValueError("the trade report reads the SQL read model: no engine given")
    ledger = TradesLedger(cash_shown=scope.strategy is None)
    fills = _fill_rows(source.engine, scope, source.head)
    orders = _order_rows(source.engine, scope)
    for row in fills:
        ledger.fill(
            (row["account"], row["strategy"]),
            FillFact(
                row["symbol"],
                row["side"],
                _exact(row["quantity"]),
                _exact(row["price"]),
                _exact(row["fee"]),
                row["fee_currency"],
            ),
            in_period=scope.contains(_micros(row["event_time"])),
        )
    for row in orders:
        ledger.order(row["account"], row["strategy"])
    feed_log(ledger, scope, source.events(LOG_FED, history=True))
    first, last = source.covered()
    figures = ledger.figures()
    return ReportDocument(
        kind="trades",
        title="Trade report",
        scope=(*scope.as_pairs(), ("first_position", str(first)), ("last_position", str(last))),
        sections=(
            _summary(ledger, figures, scope),
            *(_book_section(key, book, figures) for key, book in sorted(ledger.books.items())),
            _positions(ledger),
            _orders(orders, fills, scope),
            _fills(fills, scope),
        ),
    )


def _exact(value: Decimal) -> Decimal:
    """A read-model decimal (18 places) without its trailing zeros, as the log states it."""
    return value.normalize()


def _micros(value: datetime) -> int:
    return to_microseconds(value.replace(tzinfo=UTC))


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _fill_rows(engine: Engine, scope: ReportScope, head: int) -> list[dict[str, Any]]:
    """Fills before the period's end (positions need them all), in log order."""
    query = select(FILLS).where(FILLS.c.event_time < _naive(scope.end), FILLS.c.position <= head)
    if scope.account is not None:
        query = query.where(FILLS.c.account == scope.account)
    if scope.strategy is not None:
        query = query.where(FILLS.c.strategy == scope.strategy)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(query.order_by(FILLS.c.position)).mappings()]


def _order_rows(engine: Engine, scope: ReportScope) -> list[dict[str, Any]]:
    """Orders submitted in the period, oldest first."""
    query = select(ORDERS).where(
        ORDERS.c.submitted_at >= _naive(scope.start), ORDERS.c.submitted_at < _naive(scope.end)
    )
    if scope.account is not None:
        query = query.where(ORDERS.c.account == scope.account)
    if scope.strategy is not None:
        query = query.where(ORDERS.c.strategy == scope.strategy)
    ordered = query.order_by(ORDERS.c.submitted_at, ORDERS.c.order_id)
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(ordered).mappings()]


def _summary(ledger: TradesLedger, figures: dict[str, str], scope: ReportScope) -> Section:
    totals = tuple(
        Figure(name, f"{LABELS[name.rsplit('.', 1)[1]]}, all strategies", value)
        for name, value in figures.items()
        if name.startswith("trades.total.")
    )
    cash = tuple(
        Figure(name, f"cash {name.rsplit('.', 1)[1]} of {name.split('.')[1]} at the end", value)
        for name, value in figures.items()
        if ".cash." in name
    )
    rows = tuple(
        (
            account,
            strategy,
            *(
                figures[f"trades.{account}.{strategy}.{column}"]
                for column in ("orders", "fills", "turnover", "fees", "realized_pnl")
            ),
            figures[f"trades.{account}.{strategy}.unrealized_pnl"],
            amount(book.realized - book.fees + ledger.unrealized(book)),
        )
        for (account, strategy), book in sorted(ledger.books.items())
    )
    notes = [
        "The period is [from, to) in event time, UTC: bar time in a backtest, venue time live.",
        "Realized PnL is FIFO and gross of fees; net PnL = realized - fees + unrealized.",
    ]
    if not ledger.cash_shown:
        notes.append(f"Cash is per account: not shown for one strategy ({scope.strategy}).")
    return Section(
        name="summary",
        title="Summary",
        figures=totals + cash,
        tables=(
            Table(
                "by_strategy",
                "By account and strategy",
                (
                    "account",
                    "strategy",
                    "orders",
                    "fills",
                    "turnover",
                    "fees",
                    "realized PnL",
                    "unrealized PnL",
                    "net PnL",
                ),
                rows,
            ),
        ),
        notes=tuple(notes),
    )


def _book_section(key: tuple[str, str], book: StrategyBook, figures: dict[str, str]) -> Section:
    account, strategy = key
    prefix = f"trades.{account}.{strategy}."
    own = tuple(
        Figure(name, LABELS[name.removeprefix(prefix)], value)
        for name, value in figures.items()
        if name.startswith(prefix)
    )
    picked = thinned(len(book.equity), CHART_POINTS)
    times = tuple(instant(book.equity[i][0]) for i in picked)
    equity = [value for _, value in book.equity]
    fall = drawdowns(equity)
    charts = (
        Chart(
            f"equity.{account}.{strategy}",
            "Equity",
            ChartKind.LINE,
            (Series("equity", times, tuple(amount(equity[i]) for i in picked)),),
        ),
        Chart(
            f"drawdown.{account}.{strategy}",
            "Drawdown (fraction below the running peak)",
            ChartKind.LINE,
            (Series("drawdown", times, tuple(ratio(fall[i], Decimal(1)) for i in picked)),),
        ),
    )
    return Section(
        name=f"book.{account}.{strategy}",
        title=f"{account} / {strategy}: performance",
        figures=own,
        charts=charts if book.equity else (),
        notes=() if book.equity else ("No portfolio valuation in the period.",),
    )


def _positions(ledger: TradesLedger) -> Section:
    rows: list[tuple[str, ...]] = []
    exposures: list[tuple[Decimal, str, str, str]] = []
    for (account, strategy), book in sorted(ledger.books.items()):
        for symbol, lots in sorted(book.lots.items()):
            if lots.quantity == 0:
                continue
            mark = ledger.mark_of(book, symbol)
            value = lots.quantity * mark
            rows.append(
                (
                    account,
                    strategy,
                    symbol,
                    amount(lots.quantity),
                    amount(lots.cost / lots.quantity),
                    amount(mark),
                    amount(value),
                    amount(value - lots.cost),
                )
            )
            exposures.append((value, account, strategy, symbol))
    gross = sum((abs(v) for v, *_ in exposures), ZERO)
    largest = sorted(exposures, key=lambda e: (-abs(e[0]), e[1:]))[:LARGEST_EXPOSURES]
    return Section(
        name="positions",
        title="Positions at the period's end",
        tables=(
            Table(
                "positions",
                "Open positions (marked at the last bar close before the end)",
                (
                    "account",
                    "strategy",
                    "symbol",
                    "quantity",
                    "average cost",
                    "mark",
                    "market value",
                    "unrealized PnL",
                ),
                tuple(rows),
            ),
            Table(
                "exposures",
                f"Largest exposures (top {LARGEST_EXPOSURES} by absolute market value)",
                ("account", "strategy", "symbol", "market value", "share of gross"),
                tuple((a, s, sym, amount(v), ratio(abs(v), gross)) for v, a, s, sym in largest),
            ),
        ),
    )


def _status_at_end(row: dict[str, Any], end: datetime) -> str:
    """The order's status at the period's end, from its lifecycle times (the read model's
    ``status`` is the current one, which may be later)."""
    latest: tuple[datetime, int, str] | None = None
    for rank, (column, status) in enumerate(STATUS_TIMES):
        at = row[column]
        if at is not None and at < end and (latest is None or (at, -rank) > latest[:2]):
            latest = (at, -rank, status)
    return "" if latest is None else latest[2]


def _orders(
    orders: list[dict[str, Any]], fills: list[dict[str, Any]], scope: ReportScope
) -> Section:
    filled: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for fill in fills:
        totals = filled[fill["order_id"]]
        totals[0] += _exact(fill["quantity"])
        totals[1] += _exact(fill["quantity"]) * _exact(fill["price"])
    end = _naive(scope.end)
    rows = tuple(
        (
            row["order_id"],
            moment(row["submitted_at"]),
            row["account"],
            row["strategy"],
            row["symbol"],
            row["side"] or "",
            row["order_type"] or "",
            "" if row["quantity"] is None else amount(row["quantity"]),
            "" if row["limit_price"] is None else amount(row["limit_price"]),
            _status_at_end(row, end),
            amount(filled[row["order_id"]][0]),
            ratio(filled[row["order_id"]][1], filled[row["order_id"]][0]),
        )
        for row in orders
    )
    return Section(
        name="orders",
        title="Orders submitted in the period",
        tables=(
            Table(
                "orders",
                "Orders (status and filled quantity as of the period's end)",
                (
                    "order id",
                    "submitted",
                    "account",
                    "strategy",
                    "symbol",
                    "side",
                    "type",
                    "quantity",
                    "limit",
                    "status",
                    "filled",
                    "average price",
                ),
                rows,
            ),
        ),
    )


def _fills(fills: list[dict[str, Any]], scope: ReportScope) -> Section:
    rows = tuple(
        (
            str(row["position"]),
            moment(row["event_time"]),
            row["fill_id"],
            row["order_id"],
            row["account"],
            row["strategy"],
            row["symbol"],
            row["side"],
            amount(row["quantity"]),
            amount(row["price"]),
            amount(row["fee"]),
            row["fee_currency"],
            row["liquidity"],
            row["venue"],
        )
        for row in fills
        if scope.contains(_micros(row["event_time"]))
    )
    return Section(
        name="fills",
        title="Fills in the period",
        tables=(
            Table(
                "fills",
                "Fills, in log order",
                (
                    "log position",
                    "time",
                    "fill id",
                    "order id",
                    "account",
                    "strategy",
                    "symbol",
                    "side",
                    "quantity",
                    "price",
                    "fee",
                    "currency",
                    "liquidity",
                    "venue",
                ),
                rows,
            ),
        ),
    )
