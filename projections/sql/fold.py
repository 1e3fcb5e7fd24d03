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
from domain.events.envelope import RecordedEvent
from projections.queries.state import ORDER_STATUS_BY_EVENT, SUBMITTED
from projections.sql.types import QUANTUM

Row = dict[str, Any]
ZERO = Decimal(0)
EXACT = Context(prec=60)  # wide enough that no intermediate product is ever rounded
_EPOCH = datetime(1970, 1, 1)


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
        kind = event.event_type
        data = event.data
        if kind == "OrderSubmitted":
            submitted.add(data["order_id"])
        elif kind in ORDER_STATUS_BY_EVENT or kind == "FillRecorded":
            if data["order_id"] not in submitted:
                keys.orders.add(data["order_id"])
            if kind == "FillRecorded":
                key = (data["account"], data["strategy"], data["symbol"])
                keys.positions.add(key)
                traded = keys.traded.setdefault(key, [ZERO, ZERO])
                traded[data["side"] != "BUY"] += Decimal(data["quantity"])
                keys.cash.add((data["account"], data["fee_currency"]))
        elif kind in ("AccountFunded", "BalanceAdjusted"):
            keys.cash.add((data["account"], data["currency"]))
        elif kind == "StrategyRunStarted":
            started.add(data["run_id"])
        elif kind in ("StrategyRunStopped", "RunFailed", "PortfolioValued"):
            if data["run_id"] not in started:
                keys.runs.add(data["run_id"])
        elif kind in ("KillSwitchEngaged", "KillSwitchReleased", "TradingStateChanged"):
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
                handler = _HANDLERS.get(event.event_type)
                if handler is not None:
                    handler(self, event, event.data, naive_utc(event.event_time_us))

    # --- orders ---------------------------------------------------------------------------

    def _order(self, order_id: str, position: int, at: datetime) -> Row:
        row = self.orders.get(order_id)
        if row is None:  # an event for an order this log never submitted
            row = self.orders[order_id] = new_order_row(order_id)
        row["last_position"] = position
        row["updated_at"] = at
        return row

    def order_submitted(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = new_order_row(data["order_id"])
        row.update(
            client_order_id=data["client_order_id"],
            account=data["account"],
            strategy=data["strategy"],
            symbol=data["symbol"],
            side=data["side"],
            order_type=data["order_type"],
            time_in_force=data.get("time_in_force", "GTC"),
            quantity=dec(data["quantity"]),
            limit_price=opt_dec(data.get("limit_price")),
            stop_price=opt_dec(data.get("stop_price")),
            venue=data["venue"],
            decision_id=data["decision_id"],
            leaves_quantity=dec(data["quantity"]),
            submitted_at=at,
            updated_at=at,
            last_position=event.position,
        )
        self.orders[data["order_id"]] = row

    def order_event(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        row = self._order(data["order_id"], event.position, at)
        kind = event.event_type
        row["status"] = ORDER_STATUS_BY_EVENT[kind]
        if "filled_quantity" in data:
            row["filled_quantity"] = dec(data["filled_quantity"])
        if kind == "OrderAccepted":
            row["venue_order_id"] = data["venue_order_id"]
            row["accepted_at"] = at
        elif kind == "OrderPartiallyFilled":
            row["leaves_quantity"] = dec(data["leaves_quantity"])
            row["average_price"] = dec(data["average_price"])
            row["first_fill_at"] = row["first_fill_at"] or at
        elif kind == "OrderFilled":
            row["leaves_quantity"] = ZERO
            row["average_price"] = dec(data["average_price"])
            row["first_fill_at"] = row["first_fill_at"] or at
            row["filled_at"] = at
        elif kind == "OrderCancelRequested":
            row["cancel_requested_at"] = at
            row["cancel_requested_by"] = data["requested_by"]
            row["cancel_reason"] = data["reason"]
        elif kind == "OrderCanceled":
            row["leaves_quantity"] = ZERO
            row["canceled_at"] = at
            row["cancel_reason"] = data["reason"]
        elif kind == "OrderRejected":
            row["leaves_quantity"] = ZERO
            row["rejected_at"] = at
            row["reject_reason"] = data["reason"]
        elif kind == "OrderExpired":
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
                "account": key[0],
                "strategy": key[1],
                "symbol": key[2],
                "quantity": ZERO,
                "cost_basis": ZERO,
                "average_price": ZERO,
                "realized_pnl": ZERO,
                "fees": ZERO,
                "fill_count": 0,
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
                "account": account,
                "currency": currency,
                "balance": ZERO,
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

    def trading_control(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        kind = event.event_type
        account = data["account"]
        row = self.trading.get(account)
        if row is None:
            row = self.trading[account] = {
                "account": account,
                "state": "ACTIVE",
                "kill_switch_engaged": False,
            }
        old_state = new_state = None
        if kind == "TradingStateChanged":
            action = "STATE_CHANGED"
            old_state, new_state = data["old_state"], data["new_state"]
            row["state"] = new_state
        else:
            action = "ENGAGED" if kind == "KillSwitchEngaged" else "RELEASED"
            row["kill_switch_engaged"] = kind == "KillSwitchEngaged"
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
                "old_state": old_state,
                "new_state": new_state,
                "operator": data["operator"],
                "reason": data["reason"],
                "event_time": at,
            }
        )

    # --- strategy runs --------------------------------------------------------------------

    def run_started(self, event: RecordedEvent, data: Row, at: datetime) -> None:
        self.runs[data["run_id"]] = {
            "run_id": data["run_id"],
            "strategy": data["strategy"],
            "account": data["account"],
            "mode": data["mode"],
            "symbols": json.dumps(data["symbols"]),
            "params": json.dumps(data["params"], sort_keys=True),
            "initial_cash": dec(data["initial_cash"]),
            "currency": data.get("currency", "USD"),
            "config_hash": data["config_hash"],
            "status": "RUNNING",
            "started_at": at,
            "stopped_at": None,
            "stop_reason": None,
            "final_equity": None,
            "equity": None,
            "cash": None,
            "realized_pnl": None,
            "unrealized_pnl": None,
            "fees": None,
            "valued_at": None,
            "updated_at": at,
            "last_position": event.position,
        }

    def _run(self, run_id: str, position: int, at: datetime) -> Row:
        row = self.runs.get(run_id)
        if row is None:  # stopped/valued without a start on record
            row = self.runs[run_id] = {
                "run_id": run_id,
                "strategy": "",
                "account": "",
                "mode": "",
                "symbols": "[]",
                "params": "{}",
                "initial_cash": ZERO,
                "currency": "",
                "config_hash": "",
                "status": "RUNNING",
                "started_at": None,
                "stopped_at": None,
                "stop_reason": None,
                "final_equity": None,
                "equity": None,
                "cash": None,
                "realized_pnl": None,
                "unrealized_pnl": None,
                "fees": None,
                "valued_at": None,
            }
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


def new_order_row(order_id: str) -> Row:
    return {
        "order_id": order_id,
        "client_order_id": None,
        "account": "",
        "strategy": "",
        "symbol": "",
        "side": None,
        "order_type": None,
        "time_in_force": None,
        "quantity": None,
        "limit_price": None,
        "stop_price": None,
        "venue": None,
        "venue_order_id": None,
        "decision_id": None,
        "status": SUBMITTED,
        "filled_quantity": ZERO,
        "leaves_quantity": None,
        "average_price": None,
        "reject_reason": None,
        "cancel_reason": None,
        "cancel_requested_by": None,
        "submitted_at": None,
        "accepted_at": None,
        "first_fill_at": None,
        "filled_at": None,
        "cancel_requested_at": None,
        "canceled_at": None,
        "rejected_at": None,
        "expired_at": None,
    }


Handler = Callable[[BatchFold, RecordedEvent, Row, datetime], None]
NOT_PROJECTED = frozenset({"VenueReportUnmatched"})
"""Event types this read model leaves out on purpose. ``VenueReportUnmatched`` (a venue's
report on an order no run tracks) moves no order, fill, position or balance: reconciliation
reads it from the log, and it has no table of its own yet."""
_HANDLERS: dict[str, Handler] = {
    "OrderSubmitted": BatchFold.order_submitted,
    **{kind: BatchFold.order_event for kind in ORDER_STATUS_BY_EVENT if kind != "OrderSubmitted"},
    "FillRecorded": BatchFold.fill_recorded,
    "AccountFunded": BatchFold.cash_moved,
    "BalanceAdjusted": BatchFold.cash_moved,
    "RiskDecisionMade": BatchFold.risk_decision,
    "RiskLimitsChanged": BatchFold.limits_changed,
    "KillSwitchEngaged": BatchFold.trading_control,
    "KillSwitchReleased": BatchFold.trading_control,
    "TradingStateChanged": BatchFold.trading_control,
    "StrategyRunStarted": BatchFold.run_started,
    "StrategyRunStopped": BatchFold.run_stopped,
    "RunFailed": BatchFold.run_failed,
    "PortfolioValued": BatchFold.portfolio_valued,
}
