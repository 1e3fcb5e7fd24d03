"""A venue that answers from the log: how a live run's engine is rebuilt after a restart.

A live venue's answers cannot be produced again (prices moved, the exchange has its own
ids), so a restarted session replays the bars it recorded (``BarClosed``) through a fresh
engine whose venue is a ``LogVenue``: each call (submit, cancel, a bar's poll) answers with
the venue reports the log recorded right after the journal's current position, rebuilt as
``VenueReport``s. The order manager records them again exactly as before, so the replay lands
on the log's events, and the strategy sees the same bars and fills it saw live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

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
from domain.events.base import DomainEvent
from domain.events.catalog import (
    BarClosed,
    FillRecorded,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    VenueReportUnmatched,
)
from domain.events.envelope import RecordedEvent, to_microseconds
from domain.events.types import Liquidity, VenueReportKind
from domain.market import Bar

ZERO = Decimal(0)
DERIVED = (OrderFilled, OrderPartiallyFilled)
"""Venue-actor events the order manager derives from a fill (not reports of their own)."""
REPORTS = (
    FillRecorded,
    OrderAccepted,
    OrderRejected,
    OrderCanceled,
    OrderExpired,
    VenueReportUnmatched,
)


def is_report(event: RecordedEvent) -> bool:
    """Whether the event records something a venue reported (a fill's derived status too)."""
    return issubclass(event.event_class, REPORTS + DERIVED)


def bar_of(event: BarClosed) -> Bar:
    return Bar(
        event.symbol,
        to_microseconds(event.open_time),
        event.open,
        event.high,
        event.low,
        event.close,
        event.volume,
    )


def reports_at(
    events: Sequence[RecordedEvent], start: int, order_id: str | None = None
) -> tuple[list[VenueReport], int]:
    """The venue reports recorded from ``events[start]`` on (up to the first other event, or
    the first about another order than ``order_id`` when given), and the index after them."""
    reports: list[VenueReport] = []
    index = start
    while index < len(events) and is_report(events[index]):
        payload = events[index].payload
        if order_id is not None and getattr(payload, "order_id", None) != order_id:
            break
        if not isinstance(payload, DERIVED):
            following = events[index + 1].payload if index + 1 < len(events) else None
            reports.append(report_of(payload, following))
        index += 1
    return reports, index


def report_of(payload: DomainEvent, following: DomainEvent | None = None) -> VenueReport:
    """The venue report a recorded event was made from (``following``: the fill's status)."""
    if isinstance(payload, FillRecorded):
        return Filled(
            payload.order_id,
            payload.venue_order_id,
            payload.venue_fill_id,
            payload.price,
            payload.quantity,
            payload.fee,
            payload.fee_currency,
            payload.liquidity,
            following.leaves_quantity if isinstance(following, OrderPartiallyFilled) else ZERO,
        )
    if isinstance(payload, OrderAccepted):
        return Accepted(payload.order_id, payload.venue_order_id)
    if isinstance(payload, OrderRejected):
        return Rejected(payload.order_id, payload.reason)
    if isinstance(payload, OrderCanceled):
        return Canceled(payload.order_id, payload.reason)
    if isinstance(payload, OrderExpired):
        return Expired(payload.order_id)
    if isinstance(payload, VenueReportUnmatched):
        return _unmatched(payload)
    raise TypeError(f"not a venue report: {type(payload).__name__}")


def _unmatched(payload: VenueReportUnmatched) -> VenueReport:
    kind = payload.kind
    if kind is VenueReportKind.FILLED:
        return Filled(
            payload.order_id,
            payload.venue_order_id,
            payload.venue_fill_id,
            payload.price or ZERO,
            payload.quantity or ZERO,
            payload.fee or ZERO,
            payload.fee_currency,
            payload.liquidity or Liquidity.TAKER,
            payload.leaves or ZERO,
        )
    if kind is VenueReportKind.ACCEPTED:
        return Accepted(payload.order_id, payload.venue_order_id)
    if kind is VenueReportKind.REJECTED:
        return Rejected(payload.order_id, payload.reason)
    if kind is VenueReportKind.CANCELED:
        return Canceled(payload.order_id, payload.reason)
    return Expired(payload.order_id)


class LogVenue:
    """A ``Venue`` whose every answer is what the log recorded next (see the module doc).

    ``position`` is the journal's sequence (events recorded so far), i.e. the index in
    ``events`` of the next event the replay will record. ``on_fact`` is offered each event
    found before a call's reports and re-records it if it is a fact the live call recorded
    itself (the breaker's transitions), returning whether it did."""

    def __init__(
        self,
        name: str,
        events: Sequence[RecordedEvent],
        position: Callable[[], int],
        on_fact: Callable[[RecordedEvent], bool],
    ) -> None:
        self.name = name
        self._events = events
        self._position = position
        self._on_fact = on_fact

    def _answer(self, order_id: str | None = None) -> list[VenueReport]:
        events = self._events
        while self._position() < len(events) and self._on_fact(events[self._position()]):
            pass
        reports, _ = reports_at(events, self._position(), order_id)
        return reports

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        return self._answer(order.order_id)

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        return self._answer(order_id)

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        return self._answer()

    def open_order_ids(self) -> list[str]:
        return []


class VenueSwitch:
    """The engine's venue for a live run: the ``LogVenue`` while the run is replayed, the
    live venue once it trades (both under the live venue's name)."""

    def __init__(self, current: Venue) -> None:
        self.name = current.name
        self.current = current

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        return self.current.submit(order)

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        return self.current.cancel(order_id, reason)

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        return self.current.on_bar(bar)

    def open_order_ids(self) -> list[str]:
        return self.current.open_order_ids()
