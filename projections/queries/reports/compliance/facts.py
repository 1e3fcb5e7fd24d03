"""The facts every compliance section reads, folded once from the log's decoded events.

One pass in log order builds each order's life (submission, acceptance, fills, cancel, end)
joined to its risk decision and signal, plus the control events and the recorded bars' VWAP
windows. Payloads are read as stored (``RecordedEvent.data``: decimals as strings), which is
several times cheaper than validating a model per event over a month of trading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.events.envelope import RecordedEvent

ZERO = Decimal(0)
KILL_SWITCH_REASON = "kill switch:"
"""The engine's cancel reason when a kill switch cancels working orders (also caused by it)."""
LIMIT_CHANGED = "limit changed"
KILL_SWITCH_ENGAGED = "kill switch engaged"
KILL_SWITCH_RELEASED = "kill switch released"
STATE_CHANGED = "trading state changed"


def actor_text(event: RecordedEvent) -> str:
    """Who is responsible for an event: ``kind:name`` (a person, a strategy, a venue)."""
    return f"{event.actor.kind.value}:{event.actor.name}"


@dataclass(frozen=True)
class SignalFact:
    signal_id: str
    time_us: int
    strategy: str
    reason: str
    bar_close: Decimal
    actor: str


@dataclass(frozen=True)
class DecisionFact:
    decision_id: str
    time_us: int
    position: int
    approved: bool
    account: str
    strategy: str
    symbol: str
    side: str
    quantity: Decimal
    order_type: str
    reference_price: Decimal | None
    rules: tuple[dict[str, Any], ...]
    signal: SignalFact | None
    actor: str

    @property
    def failed_rules(self) -> tuple[dict[str, Any], ...]:
        return tuple(rule for rule in self.rules if not rule["passed"])


@dataclass(frozen=True)
class FillFact:
    fill_id: str
    time_us: int
    price: Decimal
    quantity: Decimal
    fee: Decimal
    liquidity: str
    venue_fill_id: str


@dataclass
class OrderFact:
    """One order's life as far as the events given show it (an order submitted before the
    report's range has no submission here: its fields stay empty)."""

    order_id: str
    client_order_id: str = ""
    account: str = ""
    strategy: str = ""
    symbol: str = ""
    side: str = ""
    order_type: str = ""
    time_in_force: str = ""
    quantity: Decimal = ZERO
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    venue: str = ""
    venue_order_id: str = ""
    sign: int = 1
    """+1 for a buy, -1 for a sale."""
    operator: str = ""
    submitted_us: int | None = None
    accepted_us: int | None = None
    decision: DecisionFact | None = None
    fills: list[FillFact] = field(default_factory=list)
    cancel_requested_us: int | None = None
    cancel_requested_by: str = ""
    cancel_reason: str = ""
    cancel_leaves: Decimal = ZERO
    kill_switch_cancel: bool = False
    status: str = "SUBMITTED"
    ended_us: int | None = None
    end_reason: str = ""
    end_price: Decimal | None = None
    decision_id: str = ""
    submitted_position: int = 0
    vwap: tuple[Decimal, Decimal] | None = None
    """(Σ (high + low + close) x volume, Σ volume) of the recorded bars from submission through
    the bar after the last fill: the VWAP of typical prices is the first over three times the
    second (kept undivided, so it stays exact); ``None`` when no bar was in that window."""

    @property
    def filled(self) -> Decimal:
        return sum((fill.quantity for fill in self.fills), ZERO)

    @property
    def notional(self) -> Decimal:
        return sum((fill.price * fill.quantity for fill in self.fills), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((fill.fee for fill in self.fills), ZERO)


@dataclass(frozen=True)
class ControlFact:
    """A control event: a limit change, a kill switch engaged or released, a state change."""

    kind: str
    time_us: int
    position: int
    account: str
    operator: str
    reason: str
    subject: str = ""
    old_value: str = ""
    new_value: str = ""


@dataclass(frozen=True)
class Message:
    """An order sent (``quantity``: its quantity) or a cancel request (``quantity``: what the
    order had left to fill when it was asked)."""

    time_us: int
    symbol: str
    order_id: str
    quantity: Decimal
    cancel: bool
    kill_switch: bool = False


@dataclass
class _VwapWindow:
    order: OrderFact
    value: Decimal = ZERO
    volume: Decimal = ZERO
    filled_since_bar: bool = False


@dataclass
class ComplianceFacts:
    orders: dict[str, OrderFact] = field(default_factory=dict)
    decisions: list[DecisionFact] = field(default_factory=list)
    controls: list[ControlFact] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    """Orders and cancel requests sent, in log order (what exchanges count as messages)."""
    fills: list[tuple[OrderFact, FillFact]] = field(default_factory=list)
    """Every fill with its order, in log order."""
    events: int = 0
    """How many events the facts were folded from."""
    _signals: dict[str, SignalFact] = field(default_factory=dict)
    _decisions_by_id: dict[str, DecisionFact] = field(default_factory=dict)
    _kill_switch_events: set[str] = field(default_factory=set)
    _last_price: dict[str, Decimal] = field(default_factory=dict)
    _windows: dict[str, dict[str, _VwapWindow]] = field(default_factory=dict)
    """Symbol -> order id -> the VWAP window of each order still collecting bars."""

    def order(self, order_id: str) -> OrderFact:
        found = self.orders.get(order_id)
        if found is None:
            found = self.orders[order_id] = OrderFact(order_id)
        return found

    def add(self, event: RecordedEvent) -> None:
        """Fold one more event (log order) into the facts."""
        self.events += 1
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event, event.data)

    def finish(self) -> ComplianceFacts:
        """The facts once every event is folded: orders still working are valued at the end."""
        for order in self.orders.values():
            if order.ended_us is None:
                order.end_price = self._last_price.get(order.symbol)
        return self


Handler = Callable[[ComplianceFacts, RecordedEvent, dict[str, Any]], None]


def _bar(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    symbol = data["symbol"]
    close = Decimal(data["close"])
    facts._last_price[symbol] = close
    windows = facts._windows.get(symbol)
    if not windows:
        return
    typical3 = Decimal(data["high"]) + Decimal(data["low"]) + close
    volume = Decimal(data["volume"])
    for order_id, window in list(windows.items()):
        window.value += typical3 * volume
        window.volume += volume
        if window.filled_since_bar:
            window.order.vwap = (window.value, window.volume)
            window.filled_since_bar = False
        if window.order.ended_us is not None:
            del windows[order_id]


def _signal(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    facts._last_price[data["symbol"]] = Decimal(data["bar_close"])
    facts._signals[data["signal_id"]] = SignalFact(
        data["signal_id"],
        event.event_time_us,
        data["strategy"],
        data["reason"],
        Decimal(data["bar_close"]),
        actor_text(event),
    )


def _decision(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    intent = data["intent"]
    reference = intent.get("reference_price")
    signal_id = data.get("signal_id")
    decision = DecisionFact(
        decision_id=data["decision_id"],
        time_us=event.event_time_us,
        position=event.position,
        approved=data["approved"],
        account=intent["account"],
        strategy=intent["strategy"],
        symbol=intent["symbol"],
        side=intent["side"],
        quantity=Decimal(intent["quantity"]),
        order_type=intent["order_type"],
        reference_price=None if reference is None else Decimal(reference),
        rules=tuple(data["rules"]),
        signal=facts._signals.get(signal_id) if signal_id else None,
        actor=actor_text(event),
    )
    facts.decisions.append(decision)
    facts._decisions_by_id[decision.decision_id] = decision


def _optional(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _submitted(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    order = facts.order(data["order_id"])
    order.client_order_id = data["client_order_id"]
    order.account = data["account"]
    order.strategy = data["strategy"]
    order.symbol = data["symbol"]
    order.side = data["side"]
    order.sign = 1 if order.side == "BUY" else -1
    order.order_type = data["order_type"]
    order.time_in_force = data["time_in_force"]
    order.quantity = Decimal(data["quantity"])
    order.limit_price = _optional(data.get("limit_price"))
    order.stop_price = _optional(data.get("stop_price"))
    order.venue = data["venue"]
    order.operator = actor_text(event)
    order.submitted_us = event.event_time_us
    order.submitted_position = event.position
    order.decision_id = data["decision_id"]
    order.decision = facts._decisions_by_id.get(data["decision_id"])
    facts.messages.append(
        Message(event.event_time_us, order.symbol, order.order_id, order.quantity, False)
    )
    facts._windows.setdefault(order.symbol, {})[order.order_id] = _VwapWindow(order)


def _accepted(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    order = facts.order(data["order_id"])
    order.accepted_us = event.event_time_us
    order.venue_order_id = data["venue_order_id"]


def _fill(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    order = facts.order(data["order_id"])
    if not order.symbol:
        order.symbol, order.side, order.account = data["symbol"], data["side"], data["account"]
        order.sign = 1 if order.side == "BUY" else -1
    fill = FillFact(
        data["fill_id"],
        event.event_time_us,
        Decimal(data["price"]),
        Decimal(data["quantity"]),
        Decimal(data["fee"]),
        data["liquidity"],
        data["venue_fill_id"],
    )
    order.fills.append(fill)
    facts.fills.append((order, fill))
    window = facts._windows.get(order.symbol, {}).get(order.order_id)
    if window is not None:
        window.filled_since_bar = True
        order.vwap = None  # until the bar after this fill closes the interval


def _cancel_requested(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    order = facts.order(data["order_id"])
    order.cancel_requested_us = event.event_time_us
    order.cancel_requested_by = data["requested_by"]
    order.cancel_reason = data["reason"]
    known = order.submitted_us is not None  # else its quantity is before the period
    order.cancel_leaves = order.quantity - order.filled if known else ZERO
    order.kill_switch_cancel = event.causation_id in facts._kill_switch_events or data[
        "reason"
    ].startswith(KILL_SWITCH_REASON)
    order.status = "PENDING_CANCEL"
    facts.messages.append(
        Message(
            event.event_time_us,
            order.symbol,
            order.order_id,
            order.cancel_leaves,
            True,
            order.kill_switch_cancel,
        )
    )


def _ended(status: str, reason_key: str | None) -> Handler:
    def handle(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
        order = facts.order(data["order_id"])
        order.status = status
        order.ended_us = event.event_time_us
        order.end_reason = data[reason_key] if reason_key else ""
        order.end_price = facts._last_price.get(order.symbol)
        windows = facts._windows.get(order.symbol, {})
        window = windows.get(order.order_id)
        if window is not None and not window.filled_since_bar:
            del windows[order.order_id]  # no fill waits for its bar: the window is complete

    return handle


def _partially_filled(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
    facts.order(data["order_id"]).status = "PARTIALLY_FILLED"


def _control(kind: str) -> Handler:
    def handle(facts: ComplianceFacts, event: RecordedEvent, data: dict[str, Any]) -> None:
        if kind == KILL_SWITCH_ENGAGED:
            facts._kill_switch_events.add(event.event_id)
        facts.controls.append(
            ControlFact(
                kind=kind,
                time_us=event.event_time_us,
                position=event.position,
                account=data["account"],
                operator=data["operator"],
                reason=data["reason"],
                subject=data.get("limit", ""),
                old_value=data.get("old_value") or data.get("old_state") or "",
                new_value=data.get("new_value") or data.get("new_state") or "",
            )
        )

    return handle


_HANDLERS: dict[str, Handler] = {
    "BarClosed": _bar,
    "SignalGenerated": _signal,
    "RiskDecisionMade": _decision,
    "OrderSubmitted": _submitted,
    "OrderAccepted": _accepted,
    "FillRecorded": _fill,
    "OrderPartiallyFilled": _partially_filled,
    "OrderFilled": _ended("FILLED", None),
    "OrderCancelRequested": _cancel_requested,
    "OrderCanceled": _ended("CANCELED", "reason"),
    "OrderRejected": _ended("REJECTED", "reason"),
    "OrderExpired": _ended("EXPIRED", None),
    "RiskLimitsChanged": _control(LIMIT_CHANGED),
    "TradingStateChanged": _control(STATE_CHANGED),
    "KillSwitchEngaged": _control(KILL_SWITCH_ENGAGED),
    "KillSwitchReleased": _control(KILL_SWITCH_RELEASED),
}
"""Event type -> what it adds to the facts; every other event type adds nothing to them."""

EVENT_TYPES = frozenset(_HANDLERS)
"""The event types the compliance report reads."""
