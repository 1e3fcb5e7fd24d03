"""Projection lag per read model: in events (head - checkpoint) and in seconds behind.

The runner publishes each checkpoint it reaches with the head it saw. A read model stuck
on an outage publishes nothing, so a process serving metrics also gives ``follow_head`` the
store's head: each scrape then measures the lag against the head of the log at that moment,
and the seconds-behind clock starts when a scrape first sees the read model behind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from infra.observability import metrics

log = logging.getLogger(__name__)


class ProjectionLag:
    """Checkpoints, the head and since when each read model is behind, for the lag gauges."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._checkpoints: dict[str, int] = {}
        self._behind_since: dict[str, float | None] = {}
        self._heads: dict[str, int] = {}
        self._head: Callable[[], int] | None = None

    def follow_head(self, head: Callable[[], int]) -> None:
        """Read the head of the log from ``head`` at every scrape (not only on progress)."""
        self._head = head

    def publish(self, name: str, checkpoint: int, head: int) -> None:
        with self._lock:
            known = name in self._checkpoints
            self._checkpoints[name] = checkpoint
            self._heads[name] = head
            self._note(name, head)
        if not known:
            metrics.PROJECTION_CHECKPOINT.labels(projection=name).set_function(
                lambda: self._checkpoints[name]
            )
            metrics.PROJECTION_LAG_EVENTS.labels(projection=name).set_function(
                lambda: self.lag_events(name)
            )
            metrics.PROJECTION_LAG_SECONDS.labels(projection=name).set_function(
                lambda: self.lag_seconds(name)
            )

    def lag_events(self, name: str) -> int:
        head = self._current_head(name)
        with self._lock:
            self._heads[name] = head
            self._note(name, head)
            return max(0, head - self._checkpoints[name])

    def lag_seconds(self, name: str) -> float:
        self.lag_events(name)
        with self._lock:
            since = self._behind_since[name]
        return 0.0 if since is None else self._clock() - since

    def _current_head(self, name: str) -> int:
        """The head of the log now if ``follow_head`` gave a source, else the last one
        published for ``name`` (also while the source fails: a scrape must still answer)."""
        if self._head is not None:
            try:
                return max(self._head(), self._heads[name])
            except Exception as error:
                log.warning("projection lag: cannot read the head of the log: %s", error)
        return self._heads[name]

    def _note(self, name: str, head: int) -> None:
        """Start or stop ``name``'s behind clock for ``head`` (lock held)."""
        behind = head > self._checkpoints[name]
        if not behind:
            self._behind_since[name] = None
        elif self._behind_since.get(name) is None:
            self._behind_since[name] = self._clock()


PROJECTIONS = ProjectionLag()
"""The process's lag tracker (one registry per process, so one tracker)."""
