"""Reconnect delays: exponential back-off with full jitter.

Many clients that lost a venue at the same instant must not all retry at the same instants
(they would knock it over again), so each delay is drawn uniformly from ``[0, ceiling]``
where the ceiling doubles per failed attempt up to ``cap_seconds``. The random source is
injected, so tests see fixed delays.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """The delay before each reconnect attempt; ``reset`` after a success."""

    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    factor: float = 2.0
    uniform: Callable[[float, float], float] = field(default=random.uniform)
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds or self.factor < 1:
            raise ValueError(
                "back-off needs base > 0, cap >= base and factor >= 1, got "
                f"base={self.base_seconds}, cap={self.cap_seconds}, factor={self.factor}"
            )

    def ceiling(self) -> float:
        """The longest the next delay may be."""
        return min(self.cap_seconds, self.base_seconds * self.factor**self.attempts)

    def next_delay(self) -> float:
        """The delay before the next attempt (full jitter), counting the attempt."""
        delay = self.uniform(0.0, self.ceiling())
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
