"""The event catalog: every trading fact LiangHua records. See docs/events.md.

Stream naming (the aggregate an event belongs to) lives in ``domain.events.streams``.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from domain.events.base import DomainEvent, EventValue, Payload, upcaster
from domain.events.types import (
    CancelOrigin,
    ExactDecimal,
    Liquidity,
    Money,
    NonNegativeMoney,
    NonNegativeQuantity,
    OrderType,
    PositiveMoney,
    Price,
    Quantity,
    RunMode,
    Side,
    TimeInForce,
    TradingState,
    UtcDatetime,
    VenueReportKind,
)
from domain.ids import legacy_order_id

# --- strategy runs -------------------------------------------------------------------------


class StrategyRunStarted(DomainEvent):
    """A strategy began trading (backtest, paper or live) with these parameters and capital.

    v2 added ``strategy_hash``: the SHA-256 of the strategy's source file as it was run
    ("" for runs recorded before v2, which did not say).
    """

    schema_version = 2

    run_id: str
    strategy: str
    params: dict[str, str]
    symbols: list[str]
    mode: RunMode
    account: str
    initial_cash: NonNegativeMoney
    currency: str = "USD"
    config_hash: str
    strategy_hash: str = ""


@upcaster("StrategyRunStarted", from_version=1)
def _run_started_v1_to_v2(payload: Payload) -> Payload:
    return dict(payload) | {"strategy_hash": ""}


class StrategyRunStopped(DomainEvent):
    """A strategy run ended; ``reason`` says why (data exhausted, operator stop, error)."""

    run_id: str
    reason: str
    final_equity: Money


class RunFailed(DomainEvent):
    """A strategy run ended in an error instead of a stop.

    A strategy's own error closes the run (``resumable`` false): ``frames`` is the strategy's
    part of the stack, innermost last. A failure outside it (the store's writer process died,
    the store became unreachable) leaves the run ``resumable``: the same command resumes it.
    """

    run_id: str
    error_type: str
    message: str
    frames: list[str] = Field(default_factory=list)
    resumable: bool


class BarClosed(DomainEvent):
    """A market bar that a strategy saw; the root of the causality chain of a signal."""

    symbol: str
    interval: str
    open_time: UtcDatetime
    open: Price
    high: Price
    low: Price
    close: Price
    volume: NonNegativeQuantity


class SignalGenerated(DomainEvent):
    """A strategy decided it wants a position change; not yet an order, not yet approved."""

    signal_id: str
    run_id: str
    strategy: str
    symbol: str
    side: Side
    quantity: Quantity
    target_position: ExactDecimal
    reason: str
    bar_time: UtcDatetime
    bar_close: Price


class PortfolioValued(DomainEvent):
    """A mark-to-market snapshot of one strategy's book: cash, positions and equity."""

    run_id: str
    account: str
    strategy: str
    cash: Money
    positions_value: Money
    equity: Money
    realized_pnl: Money
    unrealized_pnl: Money
    fees: NonNegativeMoney
    positions: dict[str, ExactDecimal] = Field(default_factory=dict)


# --- risk ----------------------------------------------------------------------------------


# A typed dict rather than a model: every decision holds one per rule (fourteen) and a
# backtest makes tens of thousands of decisions; the rules build these plain dicts, the log
# writes them as they are, and reading an event back validates them like any other field.
@with_config(ConfigDict(extra="forbid"))
class RuleOutcome(TypedDict):
    """One pre-trade rule's evaluation, kept inside ``RiskDecisionMade``; every key is always
    present (``detail`` is "" when there is nothing to add)."""

    rule: str
    passed: bool
    value: str
    limit: str
    detail: str


class OrderIntent(EventValue):
    """What a strategy asked to trade, before the risk engine decides."""

    client_order_id: str
    account: str
    strategy: str
    symbol: str
    side: Side
    quantity: Quantity
    order_type: OrderType
    limit_price: Price | None = None
    stop_price: Price | None = None
    reference_price: Price | None = None


class RiskDecisionMade(DomainEvent):
    """The risk engine approved or rejected an order intent; every rule is listed with its value.

    v2 added ``order_id``: the order the decision approved (``None`` when rejected), so a
    reader finds the order from the decision without taking ids apart.
    """

    schema_version = 2

    decision_id: str
    intent: OrderIntent
    approved: bool
    rules: list[RuleOutcome]
    signal_id: str | None = None
    order_id: str | None


@upcaster("RiskDecisionMade", from_version=1)
def _risk_decision_v1_to_v2(payload: Payload) -> Payload:
    approved = bool(payload["approved"])
    return dict(payload) | {
        "order_id": legacy_order_id(payload["decision_id"]) if approved else None
    }


class RiskLimitsChanged(DomainEvent):
    """An operator changed one risk limit; the old value stays on record."""

    account: str
    limit: str
    old_value: str | None
    new_value: str
    operator: str
    reason: str


class TradingStateChanged(DomainEvent):
    """The account moved between ACTIVE, REDUCING and HALTED."""

    account: str
    old_state: TradingState
    new_state: TradingState
    operator: str
    reason: str


class KillSwitchEngaged(DomainEvent):
    """An operator (or an automatic rule) stopped all trading on the account."""

    account: str
    operator: str
    reason: str


class KillSwitchReleased(DomainEvent):
    """An operator allowed trading again after a kill switch."""

    account: str
    operator: str
    reason: str


class OperatorCommandRequested(DomainEvent):
    """An operator asked a run to act (``lh ctl``), recorded in the run's control stream.

    ``command`` is one of ``kill-switch-engage``, ``kill-switch-release``, ``state``
    (``arguments.state``), ``limit`` (``arguments.name``, ``arguments.value``) and ``cancel``
    (``arguments.order_id``). The session applies it once, at its next step, and records the
    outcome (``KillSwitchEngaged``...) or ``OperatorCommandRejected`` caused by this event.
    """

    request_id: str
    run_id: str
    command: str
    arguments: dict[str, str]
    operator: str
    reason: str


class OperatorCommandApplied(DomainEvent):
    """A run applied an operator's request; its outcome (``KillSwitchEngaged``...) is recorded
    just before, caused by the same request. ``market_time_us`` is the run's market time
    then (the close of the last bar time processed): bar times that record nothing leave no
    other trace, and recovery re-applies the outcome at exactly this place."""

    request_id: str
    run_id: str
    command: str
    market_time_us: int


class OperatorCommandRejected(DomainEvent):
    """A run could not apply an operator's request (an order not open, a value out of bounds,
    a kill switch not engaged); ``error`` says why. Nothing else changed. ``market_time_us``
    as in ``OperatorCommandApplied``."""

    request_id: str
    run_id: str
    command: str
    error: str
    market_time_us: int


# --- orders --------------------------------------------------------------------------------


class OrderSubmitted(DomainEvent):
    """An approved order was sent towards a venue."""

    order_id: str
    client_order_id: str
    account: str
    strategy: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Quantity
    limit_price: Price | None = None
    stop_price: Price | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    decision_id: str
    venue: str


class OrderAccepted(DomainEvent):
    """The venue acknowledged the order and gave it its own id."""

    order_id: str
    venue_order_id: str


class OrderRejected(DomainEvent):
    """The venue refused the order."""

    order_id: str
    reason: str


class OrderPartiallyFilled(DomainEvent):
    """Some of the order's quantity traded; the rest is still working."""

    order_id: str
    filled_quantity: Quantity
    leaves_quantity: Quantity
    average_price: Price


class OrderFilled(DomainEvent):
    """The order's whole quantity traded."""

    order_id: str
    filled_quantity: Quantity
    average_price: Price


class OrderCancelRequested(DomainEvent):
    """Someone asked the venue to cancel a working order.

    v2 added ``origin`` (strategy, operator, kill switch, run stopped, run failed): what
    recovery and reports read, where ``reason`` stays free text for people.
    """

    schema_version = 2

    order_id: str
    reason: str
    requested_by: str
    origin: CancelOrigin


@upcaster("OrderCancelRequested", from_version=1)
def _cancel_requested_v1_to_v2(payload: Payload) -> Payload:
    return dict(payload) | {"origin": _v1_cancel_origin(payload).value}


def _v1_cancel_origin(payload: Payload) -> CancelOrigin:
    """What v1 engines wrote: ``requested_by`` "engine" with reason "run stopped" or "run
    failed" at the end of a run, reason "kill switch: ..." for a kill switch, and otherwise
    the strategy's own request (v1 had no other way to cancel an order)."""
    reason = str(payload["reason"])
    if payload["requested_by"] == "engine" and reason in _V1_ENGINE_CANCELS:
        return _V1_ENGINE_CANCELS[reason]
    if reason.startswith("kill switch: "):
        return CancelOrigin.KILL_SWITCH
    return CancelOrigin.STRATEGY


_V1_ENGINE_CANCELS = {
    "run stopped": CancelOrigin.RUN_STOPPED,
    "run failed": CancelOrigin.RUN_FAILED,
}


class OrderCanceled(DomainEvent):
    """The venue confirmed the cancel; ``filled_quantity`` traded before it."""

    order_id: str
    reason: str
    filled_quantity: NonNegativeQuantity


class OrderExpired(DomainEvent):
    """The order's time in force ran out."""

    order_id: str
    filled_quantity: NonNegativeQuantity


class FillRecorded(DomainEvent):
    """One execution at the venue: the only event that moves positions and cash.

    v2 renamed ``commission`` to ``fee`` and added ``fee_currency`` and ``liquidity``.
    """

    schema_version = 2

    fill_id: str
    order_id: str
    account: str
    strategy: str
    symbol: str
    side: Side
    price: Price
    quantity: Quantity
    fee: NonNegativeMoney
    fee_currency: str
    liquidity: Liquidity
    venue: str
    venue_order_id: str
    venue_fill_id: str


@upcaster("FillRecorded", from_version=1)
def _fill_recorded_v1_to_v2(payload: Payload) -> Payload:
    lifted = dict(payload)
    lifted["fee"] = lifted.pop("commission")
    lifted.setdefault("fee_currency", "USD")
    lifted.setdefault("liquidity", Liquidity.TAKER.value)
    return lifted


# --- venues and accounts -------------------------------------------------------------------


class VenueReportUnmatched(DomainEvent):
    """A venue reported on an order this run is not tracking: one it never sent (a manual
    trade on the exchange, an order from before a restart) or one it already closed (a fill
    that arrived after the cancel was confirmed). Recorded as external and flagged, never
    applied: the strategy's book (positions, cash) does not move, because the engine cannot
    know which strategy or book the trade belongs to; reconciling the account with the venue
    is reconciliation's job, and it reads these.

    Fields a report kind does not carry are empty: ``reason`` for rejects and cancels; the
    venue's ids, price, quantity, fee, fee currency, liquidity and ``leaves`` for fills
    (``venue_order_id`` also for an acceptance).
    """

    venue: str
    account: str
    kind: VenueReportKind
    order_id: str
    venue_order_id: str = ""
    reason: str = ""
    price: Price | None = None
    quantity: Quantity | None = None
    fee: NonNegativeMoney | None = None
    fee_currency: str = ""
    liquidity: Liquidity | None = None
    venue_fill_id: str = ""
    leaves: NonNegativeQuantity | None = None


class VenueConnectionChanged(DomainEvent):
    """The link to a venue came up or went down."""

    venue: str
    connected: bool
    reason: str


class ReconciliationCompleted(DomainEvent):
    """Open orders and positions were compared with the venue after a (re)start."""

    venue: str
    account: str
    local_open_orders: int
    venue_open_orders: int
    mismatches: list[str]


class RunSnapshotSaved(DomainEvent):
    """A live session saved its state after the run's first ``covers_events`` events, so a
    restart can load it and replay only what follows; ``sha256`` is of the saved bytes,
    which are loaded only when they hash to it (``format``: the code that wrote them)."""

    run_id: str
    covers_events: int = Field(ge=1)
    bar_times: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    format: str


class AccountFunded(DomainEvent):
    """Cash entered the account."""

    account: str
    currency: str
    amount: PositiveMoney


class BalanceAdjusted(DomainEvent):
    """An operator corrected a balance (transfer, fee rebate, error); the reason is required."""

    account: str
    currency: str
    amount: Money
    reason: str
    operator: str
