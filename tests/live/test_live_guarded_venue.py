"""The guarded venue on its own: the log is flushed before each send, a cancel the venue did
not answer is sent again with the polls, an unanswered submit settles before it is taken as
never received, an acceptance or fill reported twice is passed on once."""

from __future__ import annotations

from decimal import Decimal

from api.application.live_venue import BREAKER_OPEN, GuardedVenue
from domain.engine.ports import Accepted, Canceled, Rejected, VenueOrder
from domain.events.types import OrderType, Side
from domain.live.breaker import CircuitBreaker, Transition
from tests.live.fake_exchange import FakeExchange
from tests.trading.helpers import bar


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _guarded(exchange: FakeExchange, clock: Clock) -> tuple[GuardedVenue, list[Transition]]:
    transitions: list[Transition] = []
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=10, monotonic=clock)
    venue = GuardedVenue(
        exchange,
        breaker,
        symbols=["BTC/USDT"],
        on_transition=transitions.append,
        monotonic=clock,
        settle_seconds=5,
    )
    return venue, transitions


def _limit(order_id: str) -> VenueOrder:
    return VenueOrder(order_id, "BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal(1), Decimal(90))


def test_flush_before_send_and_a_cancel_resent_until_answered() -> None:
    exchange, clock = FakeExchange(), Clock()
    exchange.tick(bar(0, "100", "101", "99", "100", symbol="BTC/USDT"))
    venue, transitions = _guarded(exchange, clock)
    flushed: list[int] = []
    venue.before_send = lambda: flushed.append(len(exchange.submits_received))
    assert venue.submit(_limit("o1")) == [Accepted("o1", "X1")]
    assert flushed == [0]  # flushed before the exchange saw the order
    exchange.faults.down = True
    assert venue.cancel("o1", "stop") == []
    assert venue.poll() == []
    assert transitions[-1].new.value == "open"
    assert venue.submit(_limit("o2")) == [Rejected("o2", BREAKER_OPEN)]
    exchange.faults.down = False
    clock.now = 10
    assert venue.poll() == [Canceled("o1", "stop")]
    assert venue.pending_cancels == {}
    assert transitions[-1].new.value == "closed"


def test_an_unanswered_submit_settles_then_is_looked_up_once() -> None:
    exchange, clock = FakeExchange(), Clock()
    exchange.tick(bar(0, "100", "101", "99", "100", symbol="BTC/USDT"))
    venue, _ = _guarded(exchange, clock)
    exchange.faults.fail_submits = 1
    assert venue.submit(_limit("o1")) == []
    assert venue.poll() == []  # not found yet, but it may still arrive
    clock.now = 5
    assert venue.poll() == [Rejected("o1", "the venue never received the order")]
    exchange.faults.lose_responses = 1
    assert venue.submit(_limit("o2")) == []
    assert venue.poll() == [Accepted("o2", "X1")]
    assert venue.poll() == []
    assert exchange.submits_received == ["o2"]
