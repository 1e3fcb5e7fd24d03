"""The live venue as the engine sees it: the circuit breaker, the log first, no report twice.

``GuardedVenue`` wraps a ``LiveVenue``:

- before anything goes on the wire (a submit, a cancel) ``before_send`` runs: the session
  sets it to the journal's flush, so the ``OrderSubmitted`` (or ``OrderCancelRequested``) is
  appended and acknowledged by the store before the venue can act on it; a crash at any
  instant leaves either no order anywhere or an order the log knows it may have sent;
- while the breaker is open no order is sent: the submit is answered with a local rejection
  that says why (recorded as ``OrderRejected``); a cancel that could not be sent (breaker
  open, no answer) is sent again with each poll until the venue answers it;
- a call that fails with ``VenueUnavailableError`` counts against the breaker and returns no
  report; a submit whose outcome is unknown is remembered in ``uncertain`` and looked up by
  client order id (``resolve_uncertain``), never sent again; it is taken as never received
  only once ``settle_seconds`` have passed (a request still in flight may yet arrive; an
  exchange refuses one older than its receive window, 5 s on Binance);
- a fill the venue reports twice (same ``venue_fill_id``) is passed on once, and so is an
  acceptance (the adapter may resolve an uncertain submit itself too).

Venue reports reach the engine through ``on_bar`` (one poll per bar time) and the answers to
submit and cancel, never from another thread, so the log's order of events is the order in
which the engine saw them (what a restart replays, see ``domain.live.replay``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol, TypeVar, runtime_checkable

from domain.engine.live_ports import LiveVenue, VenueUnavailableError
from domain.engine.ports import Accepted, Filled, Rejected, VenueOrder, VenueReport
from domain.live.breaker import CircuitBreaker, Transition
from domain.market import Bar

T = TypeVar("T")
BREAKER_OPEN = "circuit breaker open (venue unavailable): not sent"


@runtime_checkable
class ForgetsOrders(Protocol):
    """An adapter that looks up its own uncertain orders (``CcxtVenue``): told to stop once
    the guard decided the venue never received one."""

    def forget(self, order_id: str) -> None: ...


class GuardedVenue:
    """A ``Venue`` over a ``LiveVenue`` (see the module doc)."""

    def __init__(
        self,
        venue: LiveVenue,
        breaker: CircuitBreaker,
        *,
        symbols: Sequence[str],
        on_transition: Callable[[Transition], None],
        client_order_id: Callable[[str], str] = str,
        monotonic: Callable[[], float] = time.monotonic,
        settle_seconds: float = 10.0,
    ) -> None:
        self.name = venue.name
        self.venue = venue
        self.breaker = breaker
        self.symbols = list(symbols)
        self.before_send: Callable[[], None] = _nothing
        self.seen_fills: set[str] = set()
        self.accepted: set[str] = set()
        self.uncertain: dict[str, tuple[str, float]] = {}
        """Order id -> (symbol, when it was sent) of each submit whose outcome is unknown."""
        self.settle_seconds = settle_seconds
        self.pending_cancels: dict[str, str] = {}
        """Order id -> reason of each cancel the venue has not answered yet."""
        self._on_transition = on_transition
        self._client_order_id = client_order_id
        self._monotonic = monotonic
        self._polled_at: int | None = None

    # --- the Venue port --------------------------------------------------------------------

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        if not self._may_call():
            return [Rejected(order.order_id, BREAKER_OPEN)]
        self.before_send()
        try:
            reports = self._call(lambda: self.venue.submit(order))
        except VenueUnavailableError:
            self.uncertain[order.order_id] = (order.symbol, self._monotonic())
            return []
        return self._once(reports)

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        self.pending_cancels[order_id] = reason
        if not self._may_call():
            return []
        self.before_send()
        return self._once(self._send_cancel(order_id))

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        """One poll per bar time (the bars of one time share ``time_us``)."""
        if bar.time_us == self._polled_at:
            return []
        self._polled_at = bar.time_us
        return self.poll()

    def open_order_ids(self) -> list[str]:
        found = self._call(lambda: self.venue.open_orders(self.symbols))
        return [status.client_order_id for status in found]

    # --- between the engine and the wire ---------------------------------------------------

    def poll(self) -> list[VenueReport]:
        """What the venue reported since the last poll, and the fate of uncertain submits."""
        if not self._may_call():
            return []
        reports = self.resolve_uncertain()
        for order_id in list(self.pending_cancels):
            reports += self._send_cancel(order_id)
        with contextlib.suppress(VenueUnavailableError):  # the breaker counted it
            reports += self._call(self.venue.poll)
        return self._once(reports)

    def _send_cancel(self, order_id: str) -> list[VenueReport]:
        """Send a pending cancel; kept pending (sent again at the next poll) without an
        answer."""
        reason = self.pending_cancels[order_id]
        try:
            reports = self._call(lambda: self.venue.cancel(order_id, reason))
        except VenueUnavailableError:
            return []
        del self.pending_cancels[order_id]
        return reports

    def resolve_uncertain(self) -> list[VenueReport]:
        """Look each uncertain submit up by client order id: accepted (its fills come with
        the next polls) or never received (rejected here: it was not sent, and never will be)."""
        reports: list[VenueReport] = []
        for order_id, (symbol, sent) in list(self.uncertain.items()):
            client_id = self._client_order_id(order_id)
            try:
                status = self._call(partial(self.venue.order_by_client_id, client_id, symbol))
            except VenueUnavailableError:
                break  # asked again at the next poll
            if status is None and self._monotonic() - sent < self.settle_seconds:
                continue  # may still arrive: asked again at the next poll
            del self.uncertain[order_id]
            if status is None:
                if isinstance(self.venue, ForgetsOrders):
                    self.venue.forget(order_id)
                reports.append(Rejected(order_id, "the venue never received the order"))
            else:
                reports.append(Accepted(order_id, status.venue_order_id))
        return reports

    def _may_call(self) -> bool:
        transition = self.breaker.allow()
        if transition is not None:
            self._on_transition(transition)
        return not self.breaker.closed_to_orders

    def _call(self, call: Callable[[], T]) -> T:
        """``call()``; a ``VenueUnavailableError`` is counted against the breaker and raised."""
        started = self._monotonic()
        try:
            answer = call()
        except VenueUnavailableError as error:
            transition = self.breaker.failure(
                str(error) or type(error).__name__, seconds=self._monotonic() - started
            )
            if transition is not None:
                self._on_transition(transition)
            raise
        transition = self.breaker.success()
        if transition is not None:
            self._on_transition(transition)
        return answer

    def _once(self, reports: Sequence[VenueReport]) -> list[VenueReport]:
        fresh: list[VenueReport] = []
        for report in reports:
            if isinstance(report, Filled):
                if report.venue_fill_id in self.seen_fills:
                    continue
                self.seen_fills.add(report.venue_fill_id)
            elif isinstance(report, Accepted):
                if report.order_id in self.accepted:
                    continue
                self.accepted.add(report.order_id)
                self.uncertain.pop(report.order_id, None)
            fresh.append(report)
        return fresh


def _nothing() -> None:
    return None
