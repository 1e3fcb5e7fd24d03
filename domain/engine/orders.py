"""The order lifecycle of one run: from a strategy's request to the venue's last word.

``submit`` turns a request into ``SignalGenerated -> RiskDecisionMade -> OrderSubmitted`` and
hands approved orders to the venue; nothing reaches the venue without an approved decision.
``on_venue_report`` takes what a venue says about an order (accepted, rejected, filled,
canceled, expired) at any moment: as the answer to a submit or a cancel, while the venue
works its orders against a bar, or on its own between bars (a live venue's fills). A report on
an order this run is not tracking is recorded as ``VenueReportUnmatched`` and changes nothing
else. Open orders keep cash reserved for what they may still buy, so risk sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from domain.engine.building import plain_fill, plain_request, refuse_out_of_bounds, trusted
from domain.engine.ports import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    Rejected,
    Venue,
    VenueOrder,
    VenueReport,
)
from domain.engine.recorder import Recorder
from domain.events.catalog import (
    FillRecorded,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    RiskDecisionMade,
    SignalGenerated,
    VenueReportUnmatched,
)
from domain.events.envelope import Actor
from domain.events.streams import order_stream
from domain.events.types import CancelOrigin, OrderType, Side, TimeInForce, VenueReportKind
from domain.ids import fill_id, request_ids
from domain.market import Bar
from domain.portfolio import Book
from domain.risk.engine import RiskEngine
from domain.strategy.base import OrderTicket, StrategyFill
from domain.strategy.params import StrategyError

ZERO = Decimal(0)
_AVERAGE_PLACES = Decimal("0.00000001")


@dataclass(slots=True)
class OpenOrder:
    """The engine's view of one order until it is filled, canceled, expired or rejected."""

    order_id: str
    strategy: str
    symbol: str
    side: Side
    quantity: Decimal
    submitted_event_id: str
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    venue_order_id: str = ""
    unit_cost: Decimal = ZERO  # cash each unit still to buy keeps reserved (0 for a sale)
    cancel_event_id: str | None = None  # the pending cancel request: what a cancel answers
    stream: str = ""  # ``order_stream(order_id)``, made once

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled


@dataclass
class EngineCounters:
    """Sequence numbers for derived ids (requests, fills) so ids stay deterministic."""

    intents: int = 0
    fills: int = 0
    bars: int = 0


class OrderManager:
    """Open orders of one run, their reservations and every event of their lifecycle."""

    def __init__(
        self,
        *,
        run_id: str,
        run_stream: str,
        venue: Venue,
        risk: RiskEngine,
        book: Book,
        recorder: Recorder,
        counters: EngineCounters,
        market_time: Callable[[], int],
        on_fill: Callable[[StrategyFill], None],
    ) -> None:
        self.run_id = run_id
        self.run_stream = run_stream
        self.venue = venue
        self.risk = risk
        self.book = book
        self.recorder = recorder
        self.counters = counters
        self.orders: dict[str, OpenOrder] = {}
        self.reserved = ZERO  # cash the open buy orders will use: Σ leaves x unit cost
        self.traded_notional = ZERO
        self._market_time = market_time
        self._on_fill = on_fill

    # --- requests --------------------------------------------------------------------------

    def submit(
        self,
        bar: Bar,
        bar_event_id: str | None,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        order_type: OrderType,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: TimeInForce,
        reason: str,
    ) -> OrderTicket:
        """A strategy's order request, priced at ``bar`` (the last one seen of ``symbol``,
        recorded as ``bar_event_id`` when bars are recorded)."""
        counters = self.counters
        counters.intents += 1
        ids = request_ids(self.run_id, counters.intents)
        recorder = self.recorder
        strategy = recorder.strategy.name
        position = self.book.position(symbol)
        pending = self.pending_quantity(symbol)
        # Payload dicts are written in sorted key order: recorded with ``presorted`` (their
        # canonical bytes need no sort) wherever no validation rebuilt them.
        intent_fields: dict[str, Any] = {
            "account": recorder.account,
            "client_order_id": ids.client_order_id,
            "limit_price": limit_price,
            "order_type": order_type,
            "quantity": quantity,
            "reference_price": bar.close,
            "side": side,
            "stop_price": stop_price,
            "strategy": strategy,
            "symbol": symbol,
        }
        # A request of plain valid values skips pydantic; anything else is validated, for its
        # precise error messages.
        plain = plain_request(
            side, quantity, order_type, reason, limit_price=limit_price, stop_price=stop_price
        )
        try:
            if plain:
                intent = trusted(OrderIntent, intent_fields)
            else:
                refuse_out_of_bounds(quantity, limit_price, stop_price)
                intent = OrderIntent(**intent_fields)
                refuse_out_of_bounds(intent.quantity, intent.limit_price, intent.stop_price)
            signal_fields: dict[str, Any] = {
                "bar_close": bar.close,
                "bar_time": bar.time,
                "quantity": intent.quantity,
                "reason": reason,
                "run_id": self.run_id,
                "side": intent.side,
                "signal_id": ids.signal_id,
                "strategy": strategy,
                "symbol": symbol,
                "target_position": position + pending + intent.side.sign * intent.quantity,
            }
            signal = (
                trusted(SignalGenerated, signal_fields)
                if plain
                else SignalGenerated(**signal_fields)
            )
        except ValidationError as error:
            raise StrategyError(f"invalid order request: {error.errors()[0]['msg']}") from None
        if type(time_in_force) is not TimeInForce:
            try:
                time_in_force = TimeInForce(time_in_force)
            except ValueError:
                raise StrategyError(f"invalid time in force {time_in_force!r}") from None
        actor = recorder.strategy
        signal_event = recorder.record(self.run_stream, signal, actor, bar_event_id, plain)
        check = self.risk.check(
            intent,
            now_us=self._market_time(),
            position=position,
            cash=self.book.cash,
            pending=pending,
            selling=self.selling_quantity(symbol) if pending else ZERO,
            reserved=self.reserved,
        )
        decision_event = recorder.record(
            self.run_stream,
            trusted(
                RiskDecisionMade,
                {
                    "approved": check.approved,
                    "decision_id": ids.decision_id,
                    "intent": intent,
                    "order_id": ids.order_id if check.approved else None,
                    "rules": check.rule_outcomes(),
                    "signal_id": ids.signal_id,
                },
            ),
            actor,
            signal_event,
            plain and check.presorted,
        )
        if not check.approved:
            return OrderTicket(
                ids.client_order_id, False, None, "rejected by " + ", ".join(check.failed)
            )
        order_id = ids.order_id
        side, quantity = intent.side, intent.quantity
        stream = order_stream(order_id)
        submitted = recorder.record(
            stream,
            # Every value was validated in ``intent`` (or is ours): no second validation.
            trusted(
                OrderSubmitted,
                {
                    "account": intent.account,
                    "client_order_id": ids.client_order_id,
                    "decision_id": ids.decision_id,
                    "limit_price": intent.limit_price,
                    "order_id": order_id,
                    "order_type": intent.order_type,
                    "quantity": quantity,
                    "side": side,
                    "stop_price": intent.stop_price,
                    "strategy": intent.strategy,
                    "symbol": symbol,
                    "time_in_force": time_in_force,
                    "venue": self.venue.name,
                },
            ),
            actor,
            decision_event,
            True,
        )
        unit_cost = check.unit_cost
        self.orders[order_id] = OpenOrder(
            order_id,
            strategy,
            symbol,
            side,
            quantity,
            submitted,
            unit_cost=unit_cost,
            stream=stream,
        )
        if unit_cost:
            self.reserved += quantity * unit_cost
        reports = self.venue.submit(
            VenueOrder(
                order_id,
                symbol,
                side,
                intent.order_type,
                quantity,
                intent.limit_price,
                intent.stop_price,
                time_in_force,
            )
        )
        rejected = ""
        for report in reports:
            if type(report) is Rejected:
                rejected = report.reason
            self.on_venue_report(report)
        if rejected:
            return OrderTicket(ids.client_order_id, False, order_id, f"venue rejected: {rejected}")
        return OrderTicket(ids.client_order_id, True, order_id)

    def cancel(
        self,
        order_id: str,
        *,
        reason: str,
        requested_by: str,
        origin: CancelOrigin,
        actor: Actor,
        cause: str | None = None,
    ) -> None:
        """Ask the venue to cancel one open order (a strategy's or an operator's request;
        ``cause``: the request event, else the order's submission)."""
        order = self.orders.get(order_id)
        if order is None:
            raise StrategyError(f"order {order_id} is not open")
        self._request_cancel(
            order, reason=reason, requested_by=requested_by, origin=origin, actor=actor, cause=cause
        )

    def cancel_all(
        self, reason: str, *, requested_by: str, origin: CancelOrigin, cause: str | None = None
    ) -> None:
        """Ask the venue to cancel every open order (kill switch, end of the run)."""
        actor = self.recorder.system
        for order_id in list(self.orders):
            order = self.orders.get(order_id)
            if order is not None:  # a cancel's answer may have closed it already
                self._request_cancel(
                    order,
                    reason=reason,
                    requested_by=requested_by,
                    origin=origin,
                    actor=actor,
                    cause=cause,
                )

    def _request_cancel(
        self,
        order: OpenOrder,
        *,
        reason: str,
        requested_by: str,
        origin: CancelOrigin,
        actor: Actor,
        cause: str | None = None,
    ) -> None:
        order.cancel_event_id = self.recorder.record(
            order.stream,
            OrderCancelRequested(
                order_id=order.order_id, reason=reason, requested_by=requested_by, origin=origin
            ),
            actor,
            cause or order.submitted_event_id,
        )
        for report in self.venue.cancel(order.order_id, reason):
            self.on_venue_report(report)

    # --- what the venue says ---------------------------------------------------------------

    def on_venue_report(self, report: VenueReport) -> None:
        """Record what a venue reported, whenever it reports it. A report is caused by the
        order's submission, or by its pending cancel request for a cancel confirmation."""
        order = self.orders.get(report.order_id)
        if order is None:
            self._unmatched(report)
            return
        stream = order.stream
        actor = self.recorder.venue
        record = self.recorder.record
        if isinstance(report, Filled):
            self._filled(order, report)
        elif isinstance(report, Accepted):
            order.venue_order_id = report.venue_order_id
            record(
                stream,
                trusted(
                    OrderAccepted,
                    {"order_id": order.order_id, "venue_order_id": str(report.venue_order_id)},
                ),
                actor,
                order.submitted_event_id,
                True,
            )
        elif isinstance(report, Rejected):
            record(
                stream,
                OrderRejected(order_id=order.order_id, reason=report.reason),
                actor,
                order.submitted_event_id,
            )
            self._close(order)
        elif isinstance(report, Canceled):
            record(
                stream,
                OrderCanceled(
                    order_id=order.order_id, reason=report.reason, filled_quantity=order.filled
                ),
                actor,
                order.cancel_event_id or order.submitted_event_id,
            )
            self._close(order)
        elif isinstance(report, Expired):
            record(
                stream,
                OrderExpired(order_id=order.order_id, filled_quantity=order.filled),
                actor,
                order.submitted_event_id,
            )
            self._close(order)

    def _filled(self, order: OpenOrder, report: Filled) -> None:
        now = self._market_time()
        counters = self.counters
        counters.fills += 1
        self.book.apply_fill(
            order.symbol, order.side, report.quantity, report.price, fee=report.fee, time_us=now
        )
        notional = report.quantity * report.price
        self.traded_notional += notional
        if order.unit_cost:
            self.reserved -= report.quantity * order.unit_cost
        order.filled += report.quantity
        order.notional += notional
        stream = order.stream
        recorder = self.recorder
        fields: dict[str, Any] = {  # in sorted key order, as below
            "account": recorder.account,
            "fee": report.fee,
            "fee_currency": report.fee_currency,
            "fill_id": fill_id(self.run_id, counters.fills),
            "liquidity": report.liquidity,
            "order_id": order.order_id,
            "price": report.price,
            "quantity": report.quantity,
            "side": order.side,
            "strategy": order.strategy,
            "symbol": order.symbol,
            "venue": self.venue.name,
            "venue_fill_id": report.venue_fill_id,
            "venue_order_id": report.venue_order_id,
        }
        plain = plain_fill(report)
        fill = trusted(FillRecorded, fields) if plain else FillRecorded.model_validate(fields)
        actor = recorder.venue
        fill_event = recorder.record(stream, fill, actor, order.submitted_event_id, plain)
        average = (order.notional / order.filled).quantize(_AVERAGE_PLACES)
        if report.leaves > 0:
            recorder.record(
                stream,
                trusted(
                    OrderPartiallyFilled,
                    {
                        "average_price": average,
                        "filled_quantity": order.filled,
                        "leaves_quantity": report.leaves,
                        "order_id": order.order_id,
                    },
                ),
                actor,
                fill_event,
                True,
            )
        else:
            recorder.record(
                stream,
                trusted(
                    OrderFilled,
                    {
                        "average_price": average,
                        "filled_quantity": order.filled,
                        "order_id": order.order_id,
                    },
                ),
                actor,
                fill_event,
                True,
            )
            self._close(order)
        self._on_fill(
            StrategyFill(
                order.order_id,
                order.symbol,
                order.side,
                report.price,
                report.quantity,
                report.fee,
                now,
            )
        )

    def _unmatched(self, report: VenueReport) -> None:
        """A report on an order this run does not track: on record, flagged, nothing moved."""
        fields: dict[str, Any] = {
            "venue": self.venue.name,
            "account": self.recorder.account,
            "order_id": report.order_id,
        }
        if isinstance(report, Filled):
            fields |= {
                "kind": VenueReportKind.FILLED,
                "venue_order_id": report.venue_order_id,
                "venue_fill_id": report.venue_fill_id,
                "price": report.price,
                "quantity": report.quantity,
                "fee": report.fee,
                "fee_currency": report.fee_currency,
                "liquidity": report.liquidity,
                "leaves": report.leaves,
            }
        elif isinstance(report, Accepted):
            fields |= {"kind": VenueReportKind.ACCEPTED, "venue_order_id": report.venue_order_id}
        elif isinstance(report, Rejected):
            fields |= {"kind": VenueReportKind.REJECTED, "reason": report.reason}
        elif isinstance(report, Canceled):
            fields |= {"kind": VenueReportKind.CANCELED, "reason": report.reason}
        else:
            fields["kind"] = VenueReportKind.EXPIRED
        self.recorder.record(
            self.run_stream, VenueReportUnmatched.model_validate(fields), self.recorder.venue
        )

    def _close(self, order: OpenOrder) -> None:
        """The order is done: it leaves the open orders and releases the cash it reserved."""
        del self.orders[order.order_id]
        if order.unit_cost:
            self.reserved -= order.leaves * order.unit_cost
        if not self.orders:
            self.reserved = ZERO  # no rounding residue outlives the orders

    # --- what is open ----------------------------------------------------------------------

    def pending_quantity(self, symbol: str) -> Decimal:
        """Signed quantity the open orders of ``symbol`` still have to trade."""
        if not self.orders:
            return ZERO  # the usual case, asked before every order
        return sum(
            (o.side.sign * o.leaves for o in self.orders.values() if o.symbol == symbol), ZERO
        )

    def selling_quantity(self, symbol: str) -> Decimal:
        """What open sell orders of ``symbol`` still have to sell (a spot account's holdings
        they have spoken for, whatever open buys may bring)."""
        return sum(
            (o.leaves for o in self.orders.values() if o.symbol == symbol and o.side.sign < 0),
            ZERO,
        )
