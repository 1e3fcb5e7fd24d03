"""Venue reports at any moment: a venue that answers later (between bars, as a live venue does)
through ``TradingEngine.on_venue_report``, and reports on orders the run does not track."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from api.application.runs import prepare_run
from domain.engine.engine import TradingEngine
from domain.engine.ports import (
    Accepted,
    Canceled,
    CollectingSink,
    Expired,
    Filled,
    Rejected,
    SimulatedClock,
    VenueOrder,
    VenueReport,
)
from domain.events.base import DomainEvent
from domain.events.catalog import (
    FillRecorded,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    VenueReportUnmatched,
)
from domain.events.envelope import NewEvent
from domain.events.types import (
    CancelOrigin,
    Liquidity,
    OrderType,
    RunMode,
    Side,
    VenueReportKind,
)
from domain.market import Bar
from domain.risk import RiskEngine
from domain.strategy import Strategy, StrategyFill
from tests.trading.helpers import wave_bars
from tests.trading.test_engine import sma_config

D = Decimal
CASH = D(100_000)


class LaterVenue:
    """Takes orders and says nothing until the test reports for it (a live venue's way)."""

    name = "LATER"

    def __init__(self) -> None:
        self.submitted: list[VenueOrder] = []
        self.cancels: list[str] = []

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        self.submitted.append(order)
        return []

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        self.cancels.append(order_id)
        return []

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        return ()

    def open_order_ids(self) -> list[str]:
        return []


class Scripted(Strategy):
    """Sends the requests the test queues at its next bar; remembers its tickets and fills."""

    name = "scripted"

    def on_start(self) -> None:
        self.queue: list[tuple[Side, Decimal, Decimal | None]] = []
        self.cancel_next: list[str] = []
        self.order_ids: list[str] = []
        self.fills: list[StrategyFill] = []

    def on_bar(self, bar: Bar) -> None:
        for side, quantity, limit in self.queue:
            ticket = self.ctx.submit_order(
                bar.symbol,
                side,
                quantity,
                order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
                limit_price=limit,
            )
            assert ticket.approved and ticket.order_id, ticket
            self.order_ids.append(ticket.order_id)
        self.queue.clear()
        for order_id in self.cancel_next:
            self.ctx.cancel_order(order_id, reason="changed my mind")
        self.cancel_next.clear()

    def on_fill(self, fill: StrategyFill) -> None:
        self.fills.append(fill)


def later_engine(
    venue: LaterVenue | None = None,
) -> tuple[TradingEngine, Scripted, LaterVenue, CollectingSink, list[list[Bar]]]:
    prepared = prepare_run(sma_config(bars={"BTC": wave_bars(20)}, cash=CASH), RunMode.BACKTEST)
    strategy, venue, sink = Scripted(), venue or LaterVenue(), CollectingSink()
    engine = TradingEngine(
        prepared.spec,
        strategy,
        venue=venue,
        risk=RiskEngine(prepared.spec.account),
        sink=sink,
        clock=SimulatedClock(),
    )
    engine.start(prepared.groups[0][0].time_us)
    return engine, strategy, venue, sink, prepared.groups


def fill(order_id: str, price: str, quantity: str, leaves: str, n: int = 1) -> Filled:
    return Filled(
        order_id=order_id,
        venue_order_id=f"L-{order_id}",
        venue_fill_id=f"L-f{n}",
        price=D(price),
        quantity=D(quantity),
        fee=D("0.25"),
        fee_currency="USD",
        liquidity=Liquidity.TAKER,
        leaves=D(leaves),
    )


def after(sink: CollectingSink, count: int) -> list[DomainEvent]:
    return [e.payload for e in sink.events[count:]]


def by_id(sink: CollectingSink) -> dict[str, NewEvent]:
    return {e.event_id: e for e in sink.events}


def test_fills_between_bars_move_the_book_partially_then_wholly() -> None:
    engine, strategy, venue, sink, groups = later_engine()
    strategy.queue.append((Side.BUY, D(3), None))
    engine.process(groups[0])
    [order_id] = strategy.order_ids
    assert [o.order_id for o in venue.submitted] == [order_id]
    assert engine.orders[order_id].leaves == 3

    seen = len(sink.events)
    engine.on_venue_report(Accepted(order_id, f"L-{order_id}"))
    engine.on_venue_report(fill(order_id, "100", "1", "2", n=1))
    assert engine.journal.pending == []  # between bars: on record at once
    accepted, first, partial = after(sink, seen)
    assert isinstance(accepted, OrderAccepted) and accepted.venue_order_id == f"L-{order_id}"
    assert isinstance(first, FillRecorded) and (first.quantity, first.price) == (D(1), D(100))
    assert isinstance(partial, OrderPartiallyFilled)
    assert (partial.filled_quantity, partial.leaves_quantity) == (D(1), D(2))
    assert engine.book.position("BTC") == 1 and engine.orders[order_id].leaves == 2
    assert engine.book.cash == CASH - D(100) - D("0.25")

    seen = len(sink.events)
    engine.on_venue_report(fill(order_id, "103", "2", "0", n=2))
    second, filled = after(sink, seen)
    assert isinstance(second, FillRecorded) and isinstance(filled, OrderFilled)
    assert filled.filled_quantity == 3 and filled.average_price == D(102)
    assert engine.book.position("BTC") == 3 and order_id not in engine.orders
    assert engine.reserved == 0 and engine.traded_notional == D(306)
    assert [(f.quantity, f.price) for f in strategy.fills] == [(D(1), D(100)), (D(2), D(103))]
    events = by_id(sink)
    for fill_event in (e for e in sink.events if isinstance(e.payload, FillRecorded)):
        cause = events[fill_event.causation_id or ""]
        assert isinstance(cause.payload, OrderSubmitted) and fill_event.actor.name == "LATER"

    engine.process(groups[1])  # the next bar values the book with the fills in it
    engine.stop("done")
    assert engine.last_valuation is not None
    assert engine.last_valuation.positions == {"BTC": D(3)}
    assert engine.last_valuation.cash == CASH - D(306) - D("0.5")


def test_a_cancel_confirmed_later_is_caused_by_its_request_and_releases_the_cash() -> None:
    engine, strategy, venue, sink, groups = later_engine()
    strategy.queue.append((Side.BUY, D(2), D(90)))
    engine.process(groups[0])
    [order_id] = strategy.order_ids
    assert engine.reserved > 0
    strategy.cancel_next.append(order_id)
    engine.process(groups[1])
    assert venue.cancels == [order_id]
    assert order_id in engine.orders  # asked, not yet confirmed: still working
    [request] = [e for e in sink.events if isinstance(e.payload, OrderCancelRequested)]
    assert isinstance(request.payload, OrderCancelRequested)
    assert request.payload.origin is CancelOrigin.STRATEGY

    engine.on_venue_report(fill(order_id, "90", "0.5", "1.5"))  # it traded before the cancel
    engine.on_venue_report(Canceled(order_id, "canceled by request"))
    canceled = sink.events[-1]
    assert isinstance(canceled.payload, OrderCanceled)
    assert canceled.payload.filled_quantity == D("0.5")
    assert canceled.causation_id == request.event_id
    assert engine.orders == {} and engine.reserved == 0
    assert engine.book.position("BTC") == D("0.5")


def test_a_rejection_and_an_expiry_later_close_their_orders() -> None:
    engine, strategy, _venue, sink, groups = later_engine()
    strategy.queue += [(Side.BUY, D(1), D(90)), (Side.BUY, D(1), D(91))]
    engine.process(groups[0])
    rejected_id, expired_id = strategy.order_ids
    engine.on_venue_report(Rejected(rejected_id, "insufficient margin"))
    engine.on_venue_report(Expired(expired_id))
    rejected, expired = sink.events[-2:]
    assert isinstance(rejected.payload, OrderRejected)
    assert rejected.payload.reason == "insufficient margin"
    assert type(expired.payload).__name__ == "OrderExpired"
    assert engine.orders == {} and engine.reserved == 0 and engine.book.cash == CASH


@pytest.mark.parametrize(
    ("report", "kind"),
    [
        (fill("manual-7", "101.5", "0.3", "0"), VenueReportKind.FILLED),
        (Accepted("manual-7", "L-manual-7"), VenueReportKind.ACCEPTED),
        (Rejected("manual-7", "no such order"), VenueReportKind.REJECTED),
        (Canceled("manual-7", "canceled on the website"), VenueReportKind.CANCELED),
        (Expired("manual-7"), VenueReportKind.EXPIRED),
    ],
)
def test_a_report_on_an_order_the_run_never_sent_is_recorded_and_moves_nothing(
    report: VenueReport, kind: VenueReportKind
) -> None:
    engine, strategy, _venue, sink, groups = later_engine()
    strategy.queue.append((Side.BUY, D(1), D(90)))
    engine.process(groups[0])
    open_before = {o.order_id: o.leaves for o in engine.orders.values()}
    book_before = (engine.book.cash, engine.book.open_positions(), engine.book.fees)
    reserved, fills = engine.reserved, engine.counters.fills
    seen = len(sink.events)

    engine.on_venue_report(report)

    [recorded] = sink.events[seen:]
    unmatched = recorded.payload
    assert isinstance(unmatched, VenueReportUnmatched)
    assert (unmatched.kind, unmatched.order_id, unmatched.venue) == (kind, "manual-7", "LATER")
    assert unmatched.account == engine.spec.account
    assert recorded.stream_id == engine.run_stream and recorded.actor.name == "LATER"
    if isinstance(report, Filled):
        assert (unmatched.price, unmatched.quantity, unmatched.fee) == (
            D("101.5"),
            D("0.3"),
            D("0.25"),
        )
        assert (unmatched.venue_fill_id, unmatched.venue_order_id) == ("L-f1", "L-manual-7")
        assert unmatched.liquidity is Liquidity.TAKER and unmatched.leaves == 0
    elif isinstance(report, Rejected | Canceled):
        assert unmatched.reason == report.reason and unmatched.price is None
    assert (engine.book.cash, engine.book.open_positions(), engine.book.fees) == book_before
    assert {o.order_id: o.leaves for o in engine.orders.values()} == open_before
    assert (engine.reserved, engine.counters.fills, strategy.fills) == (reserved, fills, [])


def test_a_fill_after_the_cancel_was_confirmed_is_unmatched_not_applied() -> None:
    engine, strategy, _venue, sink, groups = later_engine()
    strategy.queue.append((Side.BUY, D(1), D(90)))
    engine.process(groups[0])
    [order_id] = strategy.order_ids
    engine.on_venue_report(Canceled(order_id, "canceled"))
    engine.on_venue_report(fill(order_id, "90", "1", "0"))
    late = sink.events[-1].payload
    assert isinstance(late, VenueReportUnmatched) and late.order_id == order_id
    assert engine.book.position("BTC") == 0 and engine.book.cash == CASH


def test_reports_a_venue_returns_while_a_bar_is_processed_are_flushed_with_the_bar() -> None:
    class Echo(LaterVenue):
        """Reports on a bar an order it was never given."""

        def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
            return [Expired("elsewhere")]

    engine, _strategy, _venue, sink, groups = later_engine(Echo())
    engine.process(groups[0])
    [unmatched] = [e for e in sink.events if isinstance(e.payload, VenueReportUnmatched)]
    assert unmatched.payload.kind is VenueReportKind.EXPIRED  # type: ignore[attr-defined]
    assert engine.journal.pending == []
