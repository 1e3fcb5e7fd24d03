"""Current state recomputed straight from the log: the yardstick every read model is verified by.

This is deliberately independent of any read model's code: it folds events in memory, with
exact decimals, so ``lh projections verify`` can say whether MySQL/SQLite or ClickHouse rows
agree with the log at a given position. A read model exposes ``mismatches(state) -> list[str]``.

Definitions (read models must agree on them):

- ``orders[order_id].status`` is one of ``ORDER_STATUSES``, set by the order's last lifecycle
  event; ``filled_quantity`` is the cumulative quantity that the order's own lifecycle events
  (partially filled, filled, canceled, expired) last stated, 0 before any.
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
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.accounting import LotQueue
from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore

SUBMITTED = "SUBMITTED"
ACCEPTED = "ACCEPTED"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
FILLED = "FILLED"
PENDING_CANCEL = "PENDING_CANCEL"
CANCELED = "CANCELED"
REJECTED = "REJECTED"
EXPIRED = "EXPIRED"
ORDER_STATUSES = (
    SUBMITTED,
    ACCEPTED,
    PARTIALLY_FILLED,
    FILLED,
    PENDING_CANCEL,
    CANCELED,
    REJECTED,
    EXPIRED,
)
TERMINAL_STATUSES = (FILLED, CANCELED, REJECTED, EXPIRED)

# Order lifecycle event type -> the status it leaves the order in.
ORDER_STATUS_BY_EVENT = {
    "OrderSubmitted": SUBMITTED,
    "OrderAccepted": ACCEPTED,
    "OrderPartiallyFilled": PARTIALLY_FILLED,
    "OrderFilled": FILLED,
    "OrderCancelRequested": PENDING_CANCEL,
    "OrderCanceled": CANCELED,
    "OrderRejected": REJECTED,
    "OrderExpired": EXPIRED,
}

NOT_FOLDED = frozenset({"VenueReportUnmatched"})
"""Event types the log-derived state leaves out on purpose. ``VenueReportUnmatched`` (a venue's
report on an order no run tracks) moves no order, fill, position or balance: reconciliation
reads it from the log, and it has no state of its own yet."""

ZERO = Decimal(0)


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

    def apply(self, event: RecordedEvent) -> None:
        """Fold one event in; events must come in position order."""
        if event.position <= self.head:
            raise ValueError(f"event {event.position} is not after state head {self.head}")
        self.head = event.position
        data = event.data
        kind = event.event_type
        if kind in ORDER_STATUS_BY_EVENT:
            self._order_event(kind, data)
        elif kind == "FillRecorded":
            self._fill(data)
        elif kind in ("AccountFunded", "BalanceAdjusted"):
            key = (data["account"], data["currency"])
            self.cash[key] = self.cash.get(key, ZERO) + Decimal(data["amount"])
        elif kind == "RiskDecisionMade":
            self.risk_decisions += 1
            if data["approved"]:
                self.approved += 1
            else:
                self.rejected += 1

    def _order_event(self, kind: str, data: dict[str, Any]) -> None:
        order_id = data["order_id"]
        order = self.orders.get(order_id)
        if kind == "OrderSubmitted":
            self.orders[order_id] = OrderState(SUBMITTED, ZERO, data["symbol"], data["strategy"])
            return
        if order is None:
            order = self.orders[order_id] = OrderState(SUBMITTED, ZERO, "", "")
        order.status = ORDER_STATUS_BY_EVENT[kind]
        if "filled_quantity" in data:
            order.filled_quantity = Decimal(data["filled_quantity"])

    def _fill(self, data: dict[str, Any]) -> None:
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
