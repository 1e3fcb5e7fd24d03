"""Which events of the log a compliance report covers: event time in the scope's window, and
the scope's account and strategy. Market bars and account-wide controls (limits, kill switch,
trading state) belong to the account, whatever the strategy."""

from __future__ import annotations

from typing import Any

from domain.events.envelope import RecordedEvent
from projections.queries.reports.compliance.facts import EVENT_TYPES
from projections.queries.reports.source import ReportScope

READ_BEFORE = frozenset({"OrderSubmitted"})
"""What the filter needs from before the window: whose each order is."""
READ = EVENT_TYPES
"""What the sections read within the window."""


class ScopeFilter:
    """Fed the events of ``READ`` in the window and of ``READ_BEFORE`` before it, in log order,
    says which the sections report. Orders are attributed to the account and strategy of their
    submission, read from the log before the window too."""

    def __init__(self, scope: ReportScope) -> None:
        self._scope = scope
        self._start = scope.start_us
        self._owners: dict[str, tuple[str, str]] = {}

    def admits(self, event: RecordedEvent) -> bool:
        scope = self._scope
        account, strategy = self._owner(event, event.data)
        if event.event_time_us < self._start:
            return False
        if scope.account is not None and account != scope.account:
            return False
        return scope.strategy is None or strategy in (None, scope.strategy)

    def _owner(self, event: RecordedEvent, data: dict[str, Any]) -> tuple[str, str | None]:
        """The account and strategy an event belongs to (strategy ``None``: any strategy's)."""
        kind = event.event_type
        if kind == "OrderSubmitted":
            owner = self._owners[data["order_id"]] = (data["account"], data["strategy"])
            return owner
        if kind == "RiskDecisionMade":
            return data["intent"]["account"], data["intent"]["strategy"]
        if kind == "SignalGenerated":
            return event.actor.account, data["strategy"]
        found = self._owners.get(data.get("order_id", ""))
        if found is not None:
            return found
        return data.get("account", event.actor.account), None
