"""Connecting: every failed attempt on record with its back-off, then connected with the drift;
too much drift refused on record; giving up after the last attempt."""

from __future__ import annotations

import pytest

from api.application.live_connection import (
    ClockDriftError,
    ConnectionManager,
    VenueUnreachableError,
)
from domain.events.catalog import VenueConnectionChanged
from domain.live.backoff import Backoff
from tests.live.fake_exchange import FakeExchange


class FlakyExchange(FakeExchange):
    failures_left: int = 0

    def server_time_us(self) -> int:
        if self.failures_left:
            self.failures_left -= 1
            self.faults.down = True
        try:
            return super().server_time_us()
        finally:
            self.faults.down = False


def _manager(
    exchange: FakeExchange, facts: list[VenueConnectionChanged], slept: list[float], **kw: object
) -> ConnectionManager:
    return ConnectionManager(
        exchange,
        facts.append,
        backoff=Backoff(1, 8, uniform=lambda low, high: high),
        sleep=slept.append,
        **kw,  # type: ignore[arg-type]
    )


def test_retries_with_growing_delays_then_connects() -> None:
    exchange = FlakyExchange()
    exchange.failures_left = 3
    facts: list[VenueConnectionChanged] = []
    slept: list[float] = []
    drift = _manager(exchange, facts, slept).connect()
    assert slept == [1, 2, 4]
    assert [f.connected for f in facts] == [False, False, False, True]
    assert "connect attempt 2 failed: connection refused (injected); next in 2.00 s" in (
        facts[1].reason
    )
    assert facts[-1].reason.startswith("connected (clock drift")
    assert abs(drift) < 1_000


def test_gives_up_after_the_last_attempt() -> None:
    exchange = FlakyExchange()
    exchange.failures_left = 5
    facts: list[VenueConnectionChanged] = []
    with pytest.raises(VenueUnreachableError, match="did not answer 3 connect attempts"):
        _manager(exchange, facts, [], max_attempts=3).connect()
    assert facts[-1].reason.endswith("giving up")


def test_a_skewed_clock_is_refused_on_record() -> None:
    exchange = FakeExchange()
    exchange.faults.drift_us = -2_500_000
    facts: list[VenueConnectionChanged] = []
    with pytest.raises(ClockDriftError, match="-2500 ms from ours"):
        _manager(exchange, facts, []).connect()
    assert facts[-1].connected is False and "NTP" in facts[-1].reason
