"""Current state recomputed straight from the log: the yardstick every read model is verified by.

This is deliberately independent of any read model's code: it folds events in memory, with
exact decimals, so ``lh projections verify`` can say whether MySQL/SQLite or ClickHouse rows
agree with the log at a given position. A read model exposes ``mismatches(state) -> list[str]``.

Definitions (read models must agree on them):

- ``orders[order_id].status`` is the ``domain.orders.OrderStatus`` that ``STATUS_AFTER``
  gives the order's last lifecycle event; ``filled_quantity`` is the cumulative quantity
  that the order's own lifecycle events (partially filled, filled, canceled, expired) last
  stated, 0 before any.
  An event for an order never submitted creates it with empty ``symbol`` and ``strategy``.
- ``positions`` holds the signed sum of ``FillRecorded`` quantities (BUY +, SELL -) for every
  (account, strategy, symbol) that has had a fill; a flat position stays listed with 0.
- ``lots`` holds the same positions as ``domain.accounting.LotQueue``: open FIFO lots, their
  cost basis, and ``realized[key]`` the PnL their fills realized, gross of fees (the one
  accounting rule, docs/accounting.md).
- ``fills[(strategy, symbol)]``: count, Σ quantity, Σ price * quantity, Σ fee.
- ``cash[(account, currency)]``: Σ ``AccountFunded`` + Σ ``BalanceAdjusted`` - Σ signed fill
  notional - Σ fees, where a fill settles in its ``fee_currency``.
- ``risk_decisions`` counts ``RiskDecisionMade``; ``approved + rejected == risk_decisions``.

Every other event class is ignored on purpose (``IGNORED``, each with its reason), and a class
in neither set stops the fold (``projections.dispatch``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.accounting import LotQueue
from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BalanceAdjusted,
    BarClosed,
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OperatorCommandRequested,
    OrderSubmitted,
    PortfolioValued,
    ReconciliationCompleted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RunFailed,
    RunSnapshotSaved,
    SignalGenerated,
    StrategyRunStarted,
    StrategyRunStopped,
    TradingStateChanged,
    VenueConnectionChanged,
    VenueReportUnmatched,
)
from domain.events.envelope import RecordedEvent
from domain.orders import STATUS_AFTER, OrderStatus
from infra.eventstore.store import EventStore
from projections.dispatch import EventRoutes

_STATUS: dict[type[DomainEvent], OrderStatus] = dict(STATUS_AFTER.items())
ZERO = Decimal(0)
FILLED_QUANTITY_EVENTS: tuple[type[DomainEvent], ...] = tuple(
    kind for kind in STATUS_AFTER if "filled_quantity" in kind.model_fields
)
"""The order lifecycle events that state the order's cumulative filled quantity."""


@dataclass
class OrderState:
    status: str
    filled_quantity: Decimal
    symbol: str
    strategy: str


@dataclass
class FillTotals:
    count: int = 0
    quantity: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass
class LogState:
    """What the log says at position ``head`` (every event with position <= head folded in)."""

    head: int = 0
    orders: dict[str, OrderState] = field(default_factory=dict)
    positions: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    lots: dict[tuple[str, str, str], LotQueue] = field(default_factory=dict)
    realized: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    fills: dict[tuple[str, str], FillTotals] = field(default_factory=dict)
    cash: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    risk_decisions: int = 0
    approved: int = 0
    rejected: int = 0

    def __post_init__(self) -> None:
        ROUTES.check()  # a catalog class this fold has no decision for: refuse to start

    def apply(self, event: RecordedEvent) -> None:
        """Fold one event in; events must come in position order."""
        if event.position <= self.head:
            raise ValueError(f"event {event.position} is not after state head {self.head}")
        handler = ROUTES.handler(event)
        self.head = event.position
        if handler is not None:
            handler(self, event.event_class, event.data)

    def _order_submitted(self, kind: type[DomainEvent], data: dict[str, Any]) -> None:
        self.orders[data["order_id"]] = OrderState(
            OrderStatus.SUBMITTED, ZERO, data["symbol"], data["strategy"]
        )

    def _order_event(self, kind: type[DomainEvent], data: dict[str, Any]) -> None:
        order_id = data["order_id"]
        order = self.orders.get(order_id)
        if order is None:
            order = self.orders[order_id] = OrderState(OrderStatus.SUBMITTED, ZERO, "", "")
        order.status = _STATUS[kind]
        if "filled_quantity" in data:
            order.filled_quantity = Decimal(data["filled_quantity"])

    def _cash_moved(self, kind: type[DomainEvent], data: dict[str, Any]) -> None:
        key = (data["account"], data["currency"])
        self.cash[key] = self.cash.get(key, ZERO) + Decimal(data["amount"])

    def _risk_decision(self, kind: type[DomainEvent], data: dict[str, Any]) -> None:
        self.risk_decisions += 1
        if data["approved"]:
            self.approved += 1
        else:
            self.rejected += 1

    def _fill(self, kind: type[DomainEvent], data: dict[str, Any]) -> None:
        quantity = Decimal(data["quantity"])
        price = Decimal(data["price"])
        fee = Decimal(data["fee"])
        signed = quantity if data["side"] == "BUY" else -quantity
        position_key = (data["account"], data["strategy"], data["symbol"])
        self.positions[position_key] = self.positions.get(position_key, ZERO) + signed
        lots = self.lots.get(position_key)
        if lots is None:
            lots = self.lots[position_key] = LotQueue()
        realized = lots.fill(signed, price)
        self.realized[position_key] = self.realized.get(position_key, ZERO) + realized
        totals = self.fills.setdefault((data["strategy"], data["symbol"]), FillTotals())
        totals.count += 1
        totals.quantity += quantity
        totals.notional += price * quantity
        totals.fees += fee
        cash_key = (data["account"], data["fee_currency"])
        self.cash[cash_key] = self.cash.get(cash_key, ZERO) - signed * price - fee

    def snapshot(self) -> LogState:
        """An independent copy (the builder keeps folding into the original)."""
        return copy.deepcopy(self)


Handler = Callable[[LogState, type[DomainEvent], dict[str, Any]], None]

HANDLED: dict[type[DomainEvent], Handler] = {
    OrderSubmitted: LogState._order_submitted,
    **{kind: LogState._order_event for kind in STATUS_AFTER if kind is not OrderSubmitted},
    FillRecorded: LogState._fill,
    AccountFunded: LogState._cash_moved,
    BalanceAdjusted: LogState._cash_moved,
    RiskDecisionMade: LogState._risk_decision,
}
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {
        VenueReportUnmatched,  # an order no run tracks: moves nothing; reconciliation reads the log
        OperatorCommandRequested,  # a request: its outcome event carries the effect
        OperatorCommandApplied,  # bookkeeping for recovery; the outcome carries the effect
        OperatorCommandRejected,  # nothing changed; `lh ctl status` reads requests from the log
        StrategyRunStarted,  # runs are checked by their own read models, not verified
        StrategyRunStopped,  # idem
        RunFailed,  # idem
        BarClosed,  # market data: moves no order, position or balance
        SignalGenerated,  # a wish, not an order: nothing to verify until it is decided
        PortfolioValued,  # derived from fills and prices; positions come from FillRecorded
        RiskLimitsChanged,  # limits are configuration, not part of the verified state
        TradingStateChanged,  # idem (the kill-switch log is audited from the log itself)
        KillSwitchEngaged,  # idem
        KillSwitchReleased,  # idem
        VenueConnectionChanged,  # link status: moves nothing
        ReconciliationCompleted,  # a report of a comparison; changes nothing by itself
        RunSnapshotSaved,  # recovery's bookkeeping (a live session saved its state)
    }
)
ROUTES = EventRoutes("log state", HANDLED, IGNORED)


def fold(events: Iterable[RecordedEvent], state: LogState | None = None) -> LogState:
    """Fold ``events`` (in position order) into ``state`` or a fresh one."""
    state = state if state is not None else LogState()
    for event in events:
        state.apply(event)
    return state


def compute_log_state(store: EventStore, *, upto: int | None = None) -> LogState:
    """Recompute state from the whole log, up to and including position ``upto`` (or the head)."""
    state = LogState()
    if upto is not None and upto <= 0:
        return state
    return fold(store.read_all(0, stop=upto), state)


def advance(store: EventStore, state: LogState, upto: int) -> LogState:
    """Fold the events after ``state.head`` up to ``upto`` into ``state`` (in place)."""
    if upto > state.head:
        fold(store.read_all(state.head, stop=upto), state)
    return state
