"""Which events of the log a compliance report covers: event time in the scope's window, and
the scope's account and strategy. Market bars and account-wide controls (limits, kill switch,
trading state) belong to the account, whatever the strategy."""

from __future__ import annotations

from collections.abc import Iterator

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
    event: RecordedEvent, data: dict[str, object], owners: dict[str, tuple[str, str]]
) -> tuple[str, str | None]:
    kind = event.event_type
    if kind == "OrderSubmitted":
        owner = owners[str(data["order_id"])] = (str(data["account"]), str(data["strategy"]))
        return owner
    if kind == "RiskDecisionMade":
        intent = data["intent"]
        assert isinstance(intent, dict)
        return str(intent["account"]), str(intent["strategy"])
    if kind == "SignalGenerated":
        return event.actor.account, str(data["strategy"])
    order_id = data.get("order_id")
    if order_id is not None:
        found = owners.get(str(order_id))
        if found is not None:
            return found
        return str(data.get("account", event.actor.account)), None
    return str(data.get("account", event.actor.account)), None
