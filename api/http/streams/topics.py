"""What each WebSocket stream carries: a set of event types, narrowed by a few rules.

``Topic.selector`` adds the client's filters (run, account) to a topic's own rule, giving the
one predicate the hub applies to every message of the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.http.streams.messages import StreamMessage

Rule = Callable[[StreamMessage], bool]

ORDER_EVENTS = frozenset(
    {
        "OrderSubmitted",
        "OrderAccepted",
        "OrderRejected",
        "OrderPartiallyFilled",
        "OrderFilled",
        "OrderCancelRequested",
        "OrderCanceled",
        "OrderExpired",
        "FillRecorded",
    }
)
POSITION_EVENTS = frozenset({"FillRecorded", "AccountFunded", "BalanceAdjusted"})
PERFORMANCE_EVENTS = frozenset({"PortfolioValued"})
ALERT_EVENTS = frozenset(
    {
        "RiskDecisionMade",
        "RiskLimitsChanged",
        "KillSwitchEngaged",
        "KillSwitchReleased",
        "TradingStateChanged",
        "OperatorCommandRejected",
        "RunFailed",
        "VenueConnectionChanged",
        "VenueReportUnmatched",
        "ReconciliationCompleted",
    }
)
MARKET_EVENTS = frozenset({"BarClosed"})


def _is_alert(message: StreamMessage) -> bool:
    """Approved risk decisions and clean reconciliations are routine; the rest of
    ``ALERT_EVENTS`` always deserves an operator's eye."""
    if message.event_type == "RiskDecisionMade":
        return message.data.get("approved") is False
    if message.event_type == "ReconciliationCompleted":
        return bool(message.data.get("mismatches"))
    return True


def _always(message: StreamMessage) -> bool:
    return True


@dataclass(frozen=True)
class Topic:
    """A stream: the event types it carries (``None``: every type) and a rule on top."""

    name: str
    types: frozenset[str] | None
    rule: Rule = _always

    def selector(self, *, run: str | None = None, account: str | None = None) -> Rule:
        types, rule = self.types, self.rule

        def wanted(message: StreamMessage) -> bool:
            return (
                (types is None or message.event_type in types)
                and (run is None or message.run == run)
                and (account is None or message.account == account)
                and rule(message)
            )

        return wanted


EVENTS = Topic("events", None)
ORDERS = Topic("orders", ORDER_EVENTS)
POSITIONS = Topic("positions", POSITION_EVENTS)
PERFORMANCE = Topic("performance", PERFORMANCE_EVENTS)
ALERTS = Topic("alerts", ALERT_EVENTS, _is_alert)


def market(symbol: str) -> Topic:
    """Closed bars of one symbol."""
    return Topic(f"market/{symbol}", MARKET_EVENTS, lambda m: m.data.get("symbol") == symbol)
