"""The trade report's figures recomputed from the store's events alone (the cross-check's side).

``feed_log`` also serves the report itself for what the SQL read model keeps no history of
(funding, bar closes, valuations); fills and orders, which the report reads from the read
model, are folded here from ``FillRecorded`` and ``OrderSubmitted``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from domain.events.envelope import RecordedEvent
from projections.queries.reports.ledger import FillFact, TradesLedger
from projections.queries.reports.source import ReportScope, ReportSource

LOG_FED = ("AccountFunded", "BalanceAdjusted", "BarClosed", "PortfolioValued")
REPLAYED = (*LOG_FED, "FillRecorded", "OrderSubmitted")


def feed_log(ledger: TradesLedger, scope: ReportScope, events: Iterable[RecordedEvent]) -> None:
    """Fold funding, marks and valuations (events before the period's end, in log order)."""
    for event in events:
        data = event.data
        kind = event.event_type
        if kind == "BarClosed":
            ledger.mark(data["symbol"], Decimal(str(data["close"])))
        elif kind == "PortfolioValued":
            if scope.contains(event.event_time_us) and scope.selects(
                data["account"], data["strategy"]
            ):
                key = (data["account"], data["strategy"])
                ledger.valuation(key, event.event_time_us, Decimal(str(data["equity"])))
        elif kind in ("AccountFunded", "BalanceAdjusted") and scope.selects(data["account"], None):
            ledger.funds(data["account"], data["currency"], Decimal(str(data["amount"])))


def replay_trades(source: ReportSource, scope: ReportScope) -> dict[str, str]:
    """Every trade-report figure, from one pass over the store's events."""
    ledger = TradesLedger(cash_shown=scope.strategy is None)
    for event in source.events(REPLAYED, history=True):
        data = event.data
        kind = event.event_type
        if kind in LOG_FED:
            feed_log(ledger, scope, (event,))
        elif not scope.selects(data["account"], data["strategy"]):
            continue
        elif kind == "OrderSubmitted":
            if scope.contains(event.event_time_us):
                ledger.order(data["account"], data["strategy"])
        else:
            ledger.fill(
                (data["account"], data["strategy"]),
                FillFact(
                    data["symbol"],
                    data["side"],
                    Decimal(str(data["quantity"])),
                    Decimal(str(data["price"])),
                    Decimal(str(data["fee"])),
                    data["fee_currency"],
                ),
                in_period=scope.contains(event.event_time_us),
            )
    return ledger.figures()
