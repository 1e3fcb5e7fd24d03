"""Which events of the log a compliance report covers: event time in the scope's window, and
the scope's account and strategy. Market bars and account-wide controls (limits, kill switch,
trading state) belong to the account, whatever the strategy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domain.events.envelope import RecordedEvent
from projections.queries.reports.compliance.facts import EVENT_TYPES
from projections.queries.reports.source import ReportSource


def scoped_events(source: ReportSource) -> Iterator[RecordedEvent]:
    """The events the compliance sections read, in log order. Orders are attributed to the
    account and strategy of their submission, read from the log before the window too."""
    scope = source.scope
    start = scope.start_us
    owners: dict[str, tuple[str, str]] = {}
    for event in source.events(EVENT_TYPES, history=True):
        data = event.data
        account, strategy = _owner(event, data, owners)
        if event.event_time_us < start:
            continue
        if scope.account is not None and account != scope.account:
            continue
        if scope.strategy is not None and strategy not in (None, scope.strategy):
            continue
        yield event


def _owner(
    event: RecordedEvent, data: dict[str, Any], owners: dict[str, tuple[str, str]]
) -> tuple[str, str | None]:
    """The account and strategy an event belongs to (strategy ``None``: any strategy's)."""
    kind = event.event_type
    if kind == "OrderSubmitted":
        owner = owners[data["order_id"]] = (data["account"], data["strategy"])
        return owner
    if kind == "RiskDecisionMade":
        return data["intent"]["account"], data["intent"]["strategy"]
    if kind == "SignalGenerated":
        return event.actor.account, data["strategy"]
    found = owners.get(data.get("order_id", ""))
    if found is not None:
        return found
    return data.get("account", event.actor.account), None
