"""Read models check the hash chain of what they apply, and stop at the first broken link.

Each event's chain link (``domain/events/chain.py``) is recomputed from its stored
predecessor's chain hash and its own record, and compared with the chain hash the store
recorded with it. A read model never takes in an event that was edited, inserted or moved
after it was recorded; the runner stops it right before that position and names it.

Threads of one runner share one check: the first to reach a position checks it, the others
only look the answer up. Events the store keeps no chain hash for (trimmed from Redis after
sealing, or recorded before the chain existed) cannot be checked here; `lh audit verify`
reports those.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from domain.events import chain
from domain.events.envelope import RecordedEvent
from infra.eventstore.store import EventStore


class ChainCheck:
    """The first broken chain link among events, remembered for every reader."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._good_upto = 0  # every position up to here was checked and holds
        self._broken: dict[int, str] = {}

    def first_break(self, events: Sequence[RecordedEvent]) -> tuple[int, str] | None:
        """(position, reason) of the first event whose chain link does not hold, if any."""
        if not events:
            return None
        with self._lock:
            if events[-1].position > self._good_upto:
                self._check(events)
            for event in events:
                reason = self._broken.get(event.position)
                if reason is not None:
                    return event.position, reason
        return None

    def _check(self, events: Sequence[RecordedEvent]) -> None:
        first, last = events[0].position, events[-1].position
        stored = {
            p: h for page in self.store.read_chain(max(first - 2, 0), stop=last) for p, h in page
        }
        if first == 1:
            stored[0] = chain.GENESIS
        contiguous = first <= self._good_upto + 1
        for event in events:
            position = event.position
            previous, recorded = stored.get(position - 1), stored.get(position)
            if previous is None or recorded is None:
                contiguous = False  # nothing to check against: not known good either
                continue
            record = (
                event.stream_id,
                event.stream_version,
                event.event_type,
                chain.stored_bytes(event.state),
            )
            computed = chain.link(previous, position, record)
            if computed != recorded:
                self._broken[position] = (
                    f"its chain link does not hold (computed {computed.hex()}, recorded "
                    f"{recorded.hex()}): the event was altered, inserted or moved after it was "
                    "recorded; run `lh audit verify`"
                )
                contiguous = False
            elif contiguous:
                self._good_upto = max(self._good_upto, position)
