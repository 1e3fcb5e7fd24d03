"""The circuit breaker between a live session and its venue.

CLOSED: orders flow. After ``failure_threshold`` consecutive venue failures, or once failed
calls have cost more than ``timeout_budget_seconds`` in total since the last success (a venue
that answers every call after 9 s is as unusable as one that does not answer), it OPENS: no
order is sent. After ``open_seconds`` it lets one probe through (HALF_OPEN); the probe's
success closes it, its failure opens it again for another ``open_seconds``.

The breaker only decides; the session records each transition it returns and moves trading
to REDUCING or HALTED when it opens. Time comes from an injected monotonic clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class Transition:
    """The breaker moved from ``old`` to ``new`` because of ``reason``."""

    old: BreakerState
    new: BreakerState
    reason: str


class CircuitBreaker:
    """Counts venue failures and says whether a call may be made."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        timeout_budget_seconds: float = 30.0,
        open_seconds: float = 30.0,
        monotonic: Callable[[], float],
    ) -> None:
        if failure_threshold < 1 or timeout_budget_seconds <= 0 or open_seconds <= 0:
            raise ValueError(
                "circuit breaker needs failure_threshold >= 1 and positive budget and open "
                f"time, got {failure_threshold}, {timeout_budget_seconds}, {open_seconds}"
            )
        self.failure_threshold = failure_threshold
        self.timeout_budget_seconds = timeout_budget_seconds
        self.open_seconds = open_seconds
        self._monotonic = monotonic
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.failed_seconds = 0.0
        self._opened_at = 0.0

    def allow(self) -> Transition | None:
        """Whether a call may go now is ``state is not OPEN`` after this; returns the
        OPEN -> HALF_OPEN transition when the open time has run out (the probe)."""
        if (
            self.state is BreakerState.OPEN
            and self._monotonic() - self._opened_at >= self.open_seconds
        ):
            self.state = BreakerState.HALF_OPEN
            return Transition(BreakerState.OPEN, BreakerState.HALF_OPEN, "probing the venue")
        return None

    @property
    def closed_to_orders(self) -> bool:
        """No order may be sent (open; a half-open breaker lets only its probe through)."""
        return self.state is BreakerState.OPEN

    def success(self) -> Transition | None:
        """A call answered: the count starts again; a half-open breaker closes."""
        self.failures = 0
        self.failed_seconds = 0.0
        if self.state is BreakerState.CLOSED:
            return None
        old, self.state = self.state, BreakerState.CLOSED
        return Transition(old, BreakerState.CLOSED, "the venue answered")

    def failure(self, error: str, *, seconds: float = 0.0) -> Transition | None:
        """A call failed after ``seconds``; returns the transition to OPEN when it opens."""
        self.failures += 1
        self.failed_seconds += max(0.0, seconds)
        if self.state is BreakerState.HALF_OPEN:
            return self._open(f"probe failed: {error}")
        if self.state is BreakerState.OPEN:
            return None
        if self.failures >= self.failure_threshold:
            return self._open(f"{self.failures} consecutive venue failures, last: {error}")
        if self.failed_seconds > self.timeout_budget_seconds:
            return self._open(
                f"failed venue calls took {self.failed_seconds:.1f} s, over the "
                f"{self.timeout_budget_seconds:.1f} s budget; last: {error}"
            )
        return None

    def _open(self, reason: str) -> Transition:
        old, self.state = self.state, BreakerState.OPEN
        self._opened_at = self._monotonic()
        return Transition(old, BreakerState.OPEN, reason)
