"""Trading metrics of a running session, read off the events it appends.

``SessionMetrics`` is an append observer (``EventStore.append_observers``): it sees each batch
after it was recorded, so the metrics never count what the log does not hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.events.catalog import (
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderRejected,
    OrderSubmitted,
    PortfolioValued,
    ReconciliationCompleted,
    RiskDecisionMade,
    VenueConnectionChanged,
)
from domain.events.envelope import NewEvent
from infra.observability import metrics

LOSS_LIMITS = ("max_drawdown", "max_daily_loss")


class SessionMetrics:
    """Count orders, fills and rejections and track equity, PnL and drawdown of ``run_id``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.peak_equity: Decimal | None = None
        for rule in LOSS_LIMITS:
            metrics.LIMIT_BREACHED.labels(run_id=run_id, rule=rule).set(0)
        metrics.ORDERS.labels(run_id=run_id)
        metrics.FILLS.labels(run_id=run_id)

    def __call__(self, events: Sequence[NewEvent]) -> None:
        for event in events:
            self.observe(event.payload)

    def observe(self, payload: object) -> None:
        run_id = self.run_id
        if isinstance(payload, OrderSubmitted):
            metrics.ORDERS.labels(run_id=run_id).inc()
        elif isinstance(payload, FillRecorded):
            metrics.FILLS.labels(run_id=run_id).inc()
        elif isinstance(payload, RiskDecisionMade):
            self._decision(payload)
        elif isinstance(payload, OrderRejected):
            metrics.REJECTIONS.labels(run_id=run_id, rule="venue").inc()
        elif isinstance(payload, PortfolioValued):
            self._valuation(payload)
        elif isinstance(payload, KillSwitchEngaged):
            metrics.KILL_SWITCH.labels(account=payload.account).set(1)
        elif isinstance(payload, KillSwitchReleased):
            metrics.KILL_SWITCH.labels(account=payload.account).set(0)
        elif isinstance(payload, VenueConnectionChanged):
            metrics.VENUE_CONNECTED.labels(venue=payload.venue).set(int(payload.connected))
        elif isinstance(payload, ReconciliationCompleted):
            metrics.VENUE_CONNECTED.labels(venue=payload.venue).set(1)

    def _decision(self, decision: RiskDecisionMade) -> None:
        for outcome in decision.rules:
            rule = outcome["rule"]
            if not outcome["passed"] and not decision.approved:
                metrics.REJECTIONS.labels(run_id=self.run_id, rule=rule).inc()
            if rule in LOSS_LIMITS:
                breached = int(not outcome["passed"])
                metrics.LIMIT_BREACHED.labels(run_id=self.run_id, rule=rule).set(breached)

    def _valuation(self, valued: PortfolioValued) -> None:
        equity = valued.equity
        if self.peak_equity is None or equity > self.peak_equity:
            self.peak_equity = equity
        drawdown = (self.peak_equity - equity) / self.peak_equity if self.peak_equity > 0 else 0
        metrics.EQUITY.labels(run_id=self.run_id).set(float(equity))
        metrics.PNL.labels(run_id=self.run_id).set(
            float(valued.realized_pnl + valued.unrealized_pnl)
        )
        metrics.DRAWDOWN.labels(run_id=self.run_id).set(float(drawdown))
