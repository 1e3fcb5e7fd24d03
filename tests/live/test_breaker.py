"""The circuit breaker's states and the reconnect back-off, on an injected clock."""

from __future__ import annotations

import pytest

from domain.live.backoff import Backoff
from domain.live.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_consecutive_failures_open_then_a_probe_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10, monotonic=clock)
    assert breaker.failure("503") is None
    assert breaker.failure("503") is None
    opened = breaker.failure("timeout")
    assert opened is not None and opened.new is BreakerState.OPEN
    assert "3 consecutive venue failures, last: timeout" in opened.reason
    assert breaker.closed_to_orders
    clock.now = 9.9
    assert breaker.allow() is None and breaker.closed_to_orders
    clock.now = 10.0
    probing = breaker.allow()
    assert probing is not None and probing.new is BreakerState.HALF_OPEN
    assert not breaker.closed_to_orders
    closed = breaker.success()
    assert closed is not None and closed.new is BreakerState.CLOSED
    assert breaker.failures == 0


def test_a_failed_probe_opens_again_for_another_open_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=5, monotonic=clock)
    breaker.failure("down")
    clock.now = 5
    breaker.allow()
    again = breaker.failure("still down")
    assert again is not None and again.new is BreakerState.OPEN
    assert again.reason == "probe failed: still down"
    clock.now = 9
    assert breaker.allow() is None and breaker.closed_to_orders


def test_slow_failures_open_on_the_time_budget_and_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(
        failure_threshold=100, timeout_budget_seconds=20, open_seconds=5, monotonic=Clock()
    )
    assert breaker.failure("timeout", seconds=10) is None
    assert breaker.success() is None  # closed stays closed: no transition
    assert breaker.failure("timeout", seconds=15) is None
    opened = breaker.failure("timeout", seconds=10)
    assert opened is not None and "over the 20.0 s budget" in opened.reason


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0, monotonic=Clock())
    with pytest.raises(ValueError, match="back-off"):
        Backoff(base_seconds=0)


def test_backoff_doubles_its_ceiling_up_to_the_cap_with_full_jitter() -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high / 2

    backoff = Backoff(base_seconds=1, cap_seconds=5, uniform=uniform)
    delays = [backoff.next_delay() for _ in range(5)]
    assert [high for _, high in drawn] == [1, 2, 4, 5, 5]
    assert all(low == 0 for low, _ in drawn)
    assert delays == [0.5, 1, 2, 2.5, 2.5]
    backoff.reset()
    assert backoff.ceiling() == 1
