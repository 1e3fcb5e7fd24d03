"""Fold one batch of events into row changes in memory, so a batch costs a few bulk statements.

Two passes: ``needed_keys`` says which existing rows the batch updates (they are loaded with one
query per table), then ``BatchFold.apply`` folds every event into plain row dicts. Every derived
decimal is rounded to the column scale at each step, so the result never depends on where batch
boundaries fall (a rebuild equals the incremental build, row for row).

Positions follow the one accounting rule, ``domain.accounting.LotQueue`` (FIFO lots): the
projection loads each touched position's oldest lots, as many as the batch's opposite fills can
close, and writes back only the lots the batch consumed, changed or opened.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Context, Decimal, localcontext
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
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
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
from domain.orders import STATUS_AFTER
from projections.dispatch import EventRoutes
from projections.sql.models import CASH, ORDERS, POSITIONS, RUNS, TRADING, row_defaults
from projections.sql.types import QUANTUM

Row = dict[str, Any]
ZERO = Decimal(0)
EXACT = Context(prec=60)  # wide enough that no intermediate product is ever rounded
_EPOCH = datetime(1970, 1, 1)
# A new row of each table: every column at its model default (``projections.sql.models``).
_ORDER_ROW, _POSITION_ROW, _CASH_ROW = (
    row_defaults(ORDERS),
    row_defaults(POSITIONS),
    row_defaults(CASH),
)
_RUN_ROW, _TRADING_ROW = row_defaults(RUNS), row_defaults(TRADING)
# Order lifecycle event class -> the status it leaves the order in, as the column stores it.
_STATUS: dict[type[DomainEvent], str] = {
    kind: status.value for kind, status in STATUS_AFTER.items()
}
_ORDER_EVENTS = frozenset({*STATUS_AFTER, FillRecorded})  # events naming an order_id
_TRADING_EVENTS = frozenset({TradingStateChanged, KillSwitchEngaged, KillSwitchReleased})


def naive_utc(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def dec(value: Any) -> Decimal:
    return Decimal(value).quantize(QUANTUM, context=EXACT)


def opt_dec(value: Any) -> Decimal | None:
    return None if value is None else dec(value)


@dataclass
class NeededKeys:
    """Existing rows a batch will change (rows the batch itself creates are not looked up)."""

    orders: set[str] = field(default_factory=set)
    positions: set[tuple[str, str, str]] = field(default_factory=set)
    cash: set[tuple[str, str]] = field(default_factory=set)
    runs: set[str] = field(default_factory=set)
    trading: set[str] = field(default_factory=set)
    # per position, Σ BUY and Σ SELL quantity: at most this much of its existing lots closes
    traded: dict[tuple[str, str, str], list[Decimal]] = field(default_factory=dict)

    def closable(self, key: tuple[str, str, str], held: Decimal) -> Decimal:
        """The most of a position of ``held`` (signed) the batch's fills can close."""
        buys, sells = self.traded.get(key, (ZERO, ZERO))
        return sells if held > 0 else buys if held < 0 else ZERO


def needed_keys(events: Sequence[RecordedEvent]) -> NeededKeys:
    keys = NeededKeys()
    submitted: set[str] = set()
    started: set[str] = set()
    for event in events:
        kind = event.event_class
        data = event.data
        if kind is OrderSubmitted:
            submitted.add(data["order_id"])
        elif kind in _ORDER_EVENTS:
            if data["order_id"] not in submitted:
                keys.orders.add(data["order_id"])
            if kind is FillRecorded:
                key = (data["account"], data["strategy"], data["symbol"])
                keys.positions.add(key)
                traded = keys.traded.setdefault(key, [ZERO, ZERO])
                traded[data["side"] != "BUY"] += Decimal(data["quantity"])
                keys.cash.add((data["account"], data["fee_currency"]))
        elif kind is AccountFunded or kind is BalanceAdjusted:
            keys.cash.add((data["account"], data["currency"]))
        elif kind is StrategyRunStarted:
            started.add(data["run_id"])
        elif kind is StrategyRunStopped or kind is RunFailed or kind is PortfolioValued:
            if data["run_id"] not in started:
                keys.runs.add(data["run_id"])
        elif kind in _TRADING_EVENTS:
            keys.trading.add(data["account"])
    return keys


@dataclass
class BatchFold:
    """Row changes of one batch. Keyed dicts are upserted; lists are plain inserts."""

    orders: dict[str, Row] = field(default_factory=dict)
    positions: dict[tuple[str, str, str], Row] = field(default_factory=dict)
    # each position's lot queue; ``loaded`` names the lots read from the read model
    lots: dict[tuple[str, str, str], LotQueue] = field(default_factory=dict)
    loaded: dict[tuple[str, str, str], set[int]] = field(default_factory=dict)
    cash: dict[tuple[str, str], Row] = field(default_factory=dict)
    runs: dict[str, Row] = field(default_factory=dict)
    trading: dict[str, Row] = field(default_factory=dict)
    limits: dict[tuple[str, str], Row] = field(default_factory=dict)
    fills: list[Row] = field(default_factory=list)
    decisions: list[Row] = field(default_factory=list)
    outcomes: list[Row] = field(default_factory=list)
    limit_changes: list[Row] = field(default_factory=list)
    kill_log: list[Row] = field(default_factory=list)

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        with localcontext(EXACT):
            for event in events:
                handler = ROUTES.handler(event)
                if handler is not None:
                    handler(self, event, event.data, naive_utc(event.event_time_us))

    # --- orders ---------------------------------------------------------------------------

    def _order(self, order_id: str, position: int, at: datetime) -> Row:
        row = self.orders.get(order_id)
        if row is None:  # an event for an order this log never submitted
            row = self.orders[order_id] = {**_ORDER_ROW, "order_id": order_id}
        row["last_position"] = position
        row["updated_at"] = at
        return row

    def order_submitted(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self.orders[data["order_id"]] = {
            **_ORDER_ROW,
            "order_id": data["order_id"],
            "client_order_id": data["client_order_id"],
            "account": data["account"],
            "strategy": data["strategy"],
            "symbol": data["symbol"],
            "side": data["side"],
            "order_type": data["order_type"],
            "time_in_force": data.get("time_in_force", "GTC"),
            "quantity": dec(data["quantity"]),
            "limit_price": opt_dec(data.get("limit_price")),
            "stop_price": opt_dec(data.get("stop_price")),
            "venue": data["venue"],
            "decision_id": data["decision_id"],
            "leaves_quantity": dec(data["quantity"]),
            "submitted_at": at,
            "updated_at": at,
            "last_position": event.position,
        }

    def _lifecycle(self, event: RecordedEvent, data: Row, at: datetime) -> Row:
        """The order's row with the status (and filled quantity) ``event`` leaves it in."""
        row = self._order(data["order_id"], event.position, at)
        row["status"] = _STATUS[event.event_class]
        if "filled_quantity" in data:
            row["filled_quantity"] = dec(data["filled_quantity"])
        return row

    def order_accepted(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["venue_order_id"] = data["venue_order_id"]
        row["accepted_at"] = at

    def order_partially_filled(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["leaves_quantity"] = dec(data["leaves_quantity"])
        row["average_price"] = dec(data["average_price"])
        row["first_fill_at"] = row["first_fill_at"] or at

    def order_filled(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["leaves_quantity"] = ZERO
        row["average_price"] = dec(data["average_price"])
        row["first_fill_at"] = row["first_fill_at"] or at
        row["filled_at"] = at

    def order_cancel_requested(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["cancel_requested_at"] = at
        row["cancel_requested_by"] = data["requested_by"]
        row["cancel_reason"] = data["reason"]

    def order_canceled(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["leaves_quantity"] = ZERO
        row["canceled_at"] = at
        row["cancel_reason"] = data["reason"]

    def order_rejected(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["leaves_quantity"] = ZERO
        row["rejected_at"] = at
        row["reject_reason"] = data["reason"]

    def order_expired(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._lifecycle(event, data, at)
        row["leaves_quantity"] = ZERO
        row["expired_at"] = at

    # --- fills, positions, cash -----------------------------------------------------------

    def fill_recorded(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        price = dec(data["price"])
        quantity = dec(data["quantity"])
        fee = dec(data["fee"])
        notional = dec(price * quantity)
        self.fills.append(
            {
                "position": event.position,
                "fill_id": data["fill_id"],
                "order_id": data["order_id"],
                "account": data["account"],
                "strategy": data["strategy"],
                "symbol": data["symbol"],
                "side": data["side"],
                "price": price,
                "quantity": quantity,
                "notional": notional,
                "fee": fee,
                "fee_currency": data["fee_currency"],
                "liquidity": data["liquidity"],
                "venue": data["venue"],
                "venue_order_id": data["venue_order_id"],
                "venue_fill_id": data["venue_fill_id"],
                "event_time": at,
            }
        )
        order = self._order(data["order_id"], event.position, at)
        order["first_fill_at"] = order["first_fill_at"] or at
        signed = quantity if data["side"] == "BUY" else -quantity
        self._position(data, event.position, at, (signed, price, fee))
        cash = self._cash(data["account"], data["fee_currency"], event.position, at)
        cash["balance"] = dec(cash["balance"] - signed * price - fee)

    def _position(
        self, data: Row, position: int, at: datetime, trade: tuple[Decimal, Decimal, Decimal]
    ) -> None:
        signed, price, fee = trade
        key = (data["account"], data["strategy"], data["symbol"])
        row = self.positions.get(key)
        if row is None:
            row = self.positions[key] = {
                **_POSITION_ROW,
                "account": key[0],
                "strategy": key[1],
                "symbol": key[2],
            }
        lots = self.lots.get(key)
        if lots is None:  # a position new to the read model (known ones come with their lots)
            lots = self.lots[key] = LotQueue()
        realized = lots.fill(signed, price, position)
        held = lots.quantity
        lots.cost = dec(lots.cost) if held else ZERO
        row["realized_pnl"] = dec(row["realized_pnl"] + realized)
        row["quantity"] = held
        row["cost_basis"] = lots.cost
        row["average_price"] = dec(abs(lots.cost / held)) if held else ZERO
        row["fees"] = dec(row["fees"] + fee)
        row["fill_count"] += 1
        row["updated_at"] = at
        row["last_position"] = position

    def lot_changes(self) -> tuple[list[Row], list[Row]]:
        """``(consumed, kept)``: per position the newest lot read and then fully closed (every
        older one went too: FIFO), and the lots to upsert (new ones and the oldest read one)."""
        consumed: list[Row] = []
        kept: list[Row] = []
        for key, lots in self.lots.items():
            loaded = self.loaded.get(key, set())
            remaining = {lot.opened for lot in lots.lots}
            gone = loaded - remaining
            if gone:
                consumed.append(_lot_key(key, max(gone)))
            for index, lot in enumerate(lots.lots):
                if index == 0 or lot.opened not in loaded:
                    row = _lot_key(key, lot.opened)
                    row["quantity"], row["price"] = lot.quantity, lot.price
                    kept.append(row)
        return consumed, kept

    def _cash(self, account: str, currency: str, position: int, at: datetime) -> Row:
        row = self.cash.get((account, currency))
        if row is None:
            row = self.cash[(account, currency)] = {
                **_CASH_ROW,
                "account": account,
                "currency": currency,
            }
        row["updated_at"] = at
        row["last_position"] = position
        return row

    def cash_moved(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._cash(data["account"], data["currency"], event.position, at)
        row["balance"] = dec(row["balance"] + Decimal(data["amount"]))

    # --- risk -----------------------------------------------------------------------------

    def risk_decision(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        intent = data["intent"]
        rules = data["rules"]
        self.decisions.append(
            {
                "position": event.position,
                "decision_id": data["decision_id"],
                "signal_id": data.get("signal_id"),
                "client_order_id": intent["client_order_id"],
                "account": intent["account"],
                "strategy": intent["strategy"],
                "symbol": intent["symbol"],
                "side": intent["side"],
                "quantity": dec(intent["quantity"]),
                "order_type": intent["order_type"],
                "limit_price": opt_dec(intent.get("limit_price")),
                "reference_price": opt_dec(intent.get("reference_price")),
                "approved": bool(data["approved"]),
                "failed_rules": ",".join(rule["rule"] for rule in rules if not rule["passed"]),
                "event_time": at,
            }
        )
        for sequence, rule in enumerate(rules):
            self.outcomes.append(
                {
                    "decision_position": event.position,
                    "sequence": sequence,
                    "rule": rule["rule"],
                    "passed": bool(rule["passed"]),
                    "value": rule["value"],
                    "limit_value": rule["limit"],
                    "detail": rule.get("detail", ""),
                }
            )

    def limits_changed(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self.limit_changes.append(
            {
                "position": event.position,
                "account": data["account"],
                "limit_name": data["limit"],
                "old_value": data.get("old_value"),
                "new_value": data["new_value"],
                "operator": data["operator"],
                "reason": data["reason"],
                "event_time": at,
            }
        )
        self.limits[(data["account"], data["limit"])] = {
            "account": data["account"],
            "limit_name": data["limit"],
            "value": data["new_value"],
            "changed_by": data["operator"],
            "reason": data["reason"],
            "changed_at": at,
            "last_position": event.position,
        }

    def trading_state_changed(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        old, new = data["old_state"], data["new_state"]
        self._trading(event, data, at, "STATE_CHANGED", (old, new))["state"] = new

    def kill_switch_engaged(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self._trading(event, data, at, "ENGAGED")["kill_switch_engaged"] = True

    def kill_switch_released(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self._trading(event, data, at, "RELEASED")["kill_switch_engaged"] = False

    def _trading(
        self,
        event: RecordedEvent,
        data: Row,
        at: datetime,
        action: str,
        states: tuple[str | None, str | None] = (None, None),
    ) -> Row:
        """The account's trading-state row, changed by ``event``, which is logged as ``action``
        (with the old and new state when it changed the state)."""
        account = data["account"]
        row = self.trading.get(account)
        if row is None:
            row = self.trading[account] = {**_TRADING_ROW, "account": account}
        row.update(
            changed_by=data["operator"],
            reason=data["reason"],
            changed_at=at,
            last_position=event.position,
        )
        self.kill_log.append(
            {
                "position": event.position,
                "account": account,
                "action": action,
                "old_state": states[0],
                "new_state": states[1],
                "operator": data["operator"],
                "reason": data["reason"],
                "event_time": at,
            }
        )
        return row

    # --- strategy runs --------------------------------------------------------------------

    def run_started(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self.runs[data["run_id"]] = {
            **_RUN_ROW,
            "run_id": data["run_id"],
            "strategy": data["strategy"],
            "account": data["account"],
            "mode": data["mode"],
            "symbols": json.dumps(data["symbols"]),
            "params": json.dumps(data["params"], sort_keys=True),
            "initial_cash": dec(data["initial_cash"]),
            "currency": data.get("currency", "USD"),
            "config_hash": data["config_hash"],
            "started_at": at,
            "updated_at": at,
            "last_position": event.position,
        }

    def _run(self, run_id: str, position: int, at: datetime) -> Row:
        row = self.runs.get(run_id)
        if row is None:  # stopped/valued without a start on record
            row = self.runs[run_id] = {**_RUN_ROW, "run_id": run_id}
        row["updated_at"] = at
        row["last_position"] = position
        return row

    def run_stopped(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._run(data["run_id"], event.position, at)
        row.update(
            status="STOPPED",
            stopped_at=at,
            stop_reason=data["reason"],
            final_equity=dec(data["final_equity"]),
        )

    def run_failed(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        """FAILED: closed by its strategy's error. INTERRUPTED: its machinery failed and a
        rerun resumes it (RUNNING again at its next valuation)."""
        row = self._run(data["run_id"], event.position, at)
        row.update(
            status="INTERRUPTED" if data["resumable"] else "FAILED",
            stopped_at=at,
            stop_reason=f"{data['error_type']}: {data['message']}",
        )

    def portfolio_valued(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._run(data["run_id"], event.position, at)
        if row["status"] == "INTERRUPTED":
            row.update(status="RUNNING", stopped_at=None, stop_reason=None)
        row.update(
            equity=dec(data["equity"]),
            cash=dec(data["cash"]),
            realized_pnl=dec(data["realized_pnl"]),
            unrealized_pnl=dec(data["unrealized_pnl"]),
            fees=dec(data["fees"]),
            valued_at=at,
        )


def _lot_key(key: tuple[str, str, str], opened: int) -> Row:
    return {"account": key[0], "strategy": key[1], "symbol": key[2], "opened_position": opened}


Handler = Callable[[BatchFold, RecordedEvent, Row, datetime], None]
HANDLED: dict[type[DomainEvent], Handler] = {
    OrderSubmitted: BatchFold.order_submitted,
    OrderAccepted: BatchFold.order_accepted,
    OrderPartiallyFilled: BatchFold.order_partially_filled,
    OrderFilled: BatchFold.order_filled,
    OrderCancelRequested: BatchFold.order_cancel_requested,
    OrderCanceled: BatchFold.order_canceled,
    OrderRejected: BatchFold.order_rejected,
    OrderExpired: BatchFold.order_expired,
    FillRecorded: BatchFold.fill_recorded,
    AccountFunded: BatchFold.cash_moved,
    BalanceAdjusted: BatchFold.cash_moved,
    RiskDecisionMade: BatchFold.risk_decision,
    RiskLimitsChanged: BatchFold.limits_changed,
    TradingStateChanged: BatchFold.trading_state_changed,
    KillSwitchEngaged: BatchFold.kill_switch_engaged,
    KillSwitchReleased: BatchFold.kill_switch_released,
    StrategyRunStarted: BatchFold.run_started,
    StrategyRunStopped: BatchFold.run_stopped,
    RunFailed: BatchFold.run_failed,
    PortfolioValued: BatchFold.portfolio_valued,
}
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {
        VenueReportUnmatched,  # an order no run tracks: moves nothing; reconciliation reads the log
        OperatorCommandRequested,  # a request: its outcome event carries the effect
        OperatorCommandApplied,  # bookkeeping for recovery; the outcome carries the effect
        OperatorCommandRejected,  # nothing changed; `lh ctl status` reads requests from the log
        BarClosed,  # market data is analytics (ClickHouse), not current state
        SignalGenerated,  # a wish: current state starts at the risk decision
        VenueConnectionChanged,  # link status: no table keeps it
        ReconciliationCompleted,  # a report of a comparison; changes no row by itself
        RunSnapshotSaved,  # recovery's bookkeeping (a live session saved its state)
    }
)
ROUTES = EventRoutes("sql", HANDLED, IGNORED)
