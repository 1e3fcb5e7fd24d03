"""Connecting a live session to its venue: reconnect with back-off, check the clock, record it.

Every attempt is a fact: a failed one is recorded as ``VenueConnectionChanged`` (connected
false, why, when the next try is), the success as connected true with the measured clock
drift. A venue whose clock is further from ours than ``max_drift_ms`` is refused (recorded,
then ``ClockDriftError``): order timestamps, fills-since queries and signed requests all go
wrong with a skewed clock, and the fix is on the machine (NTP), not in a retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from domain.engine.live_ports import LiveVenue, VenueUnavailableError
from domain.events.catalog import VenueConnectionChanged
from domain.live.backoff import Backoff
from infra.eventstore.store import wall_clock_us


class ClockDriftError(RuntimeError):
    """The venue's clock and ours differ by more than the session allows."""


class VenueUnreachableError(ConnectionError):
    """Every connect attempt failed."""


class ConnectionManager:
    """Connects to one venue, retrying with ``backoff``; ``record`` stores each fact."""

    def __init__(
        self,
        venue: LiveVenue,
        record: Callable[[VenueConnectionChanged], None],
        *,
        backoff: Backoff | None = None,
        max_attempts: int = 10,
        max_drift_ms: float = 1_000.0,
        sleep: Callable[[float], None] = time.sleep,
        now_us: Callable[[], int] = wall_clock_us,
    ) -> None:
        self.venue = venue
        self.record = record
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.max_drift_ms = max_drift_ms
        self.sleep = sleep
        self.now_us = now_us
        self.drift_ms = 0.0

    def connect(self) -> float:
        """Connect (retrying); returns the venue's clock minus ours, in milliseconds."""
        for attempt in range(1, self.max_attempts + 1):
            sent = self.now_us()
            try:
                server = self.venue.server_time_us()
            except VenueUnavailableError as error:
                if attempt == self.max_attempts:
                    self._record(False, f"connect attempt {attempt} failed: {error}; giving up")
                    raise VenueUnreachableError(
                        f"venue {self.venue.name} did not answer {attempt} connect attempts; "
                        f"last error: {error}"
                    ) from None
                delay = self.backoff.next_delay()
                self._record(
                    False, f"connect attempt {attempt} failed: {error}; next in {delay:.2f} s"
                )
                self.sleep(delay)
                continue
            received = self.now_us()
            self.drift_ms = (server - (sent + received) // 2) / 1_000
            if abs(self.drift_ms) > self.max_drift_ms:
                self._record(False, self._drift_problem())
                raise ClockDriftError(self._drift_problem())
            self.backoff.reset()
            self._record(True, f"connected (clock drift {self.drift_ms:+.0f} ms)")
            return self.drift_ms
        raise VenueUnreachableError(f"venue {self.venue.name}: no connect attempt allowed")

    def lost(self, reason: str) -> None:
        """The link went down (the breaker opened): on record."""
        self._record(False, reason)

    def restored(self, reason: str) -> None:
        self._record(True, reason)

    def _drift_problem(self) -> str:
        return (
            f"venue {self.venue.name}'s clock is {self.drift_ms:+.0f} ms from ours, over the "
            f"{self.max_drift_ms:.0f} ms bound: refusing to trade; synchronise this machine's "
            "clock (NTP) and start again"
        )

    def _record(self, connected: bool, reason: str) -> None:
        self.record(
            VenueConnectionChanged(venue=self.venue.name, connected=connected, reason=reason)
        )
