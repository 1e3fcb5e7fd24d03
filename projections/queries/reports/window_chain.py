"""The chain check of a report's window, run on the records its single pass reads.

A report covers positions ``first..last``: the first and last record whose event time is in
its window, which the pass only knows once it has read to the head. The records after the
latest one in the window are held back until another one in the window confirms them (then
checked) or the pass ends (then never checked, as ``verify_log(first, last)`` would not); past
``HELD`` of them they are dropped and read again from the store if the window goes on after
all, so memory stays flat and a log that goes on long after the window is not checked there.
"""

from __future__ import annotations

from eventsourcing.persistence import Notification

from infra.eventstore.store import EventStore
from projections.integrity import ChainVerifier, IntegrityReport, ParsedRecord

CHUNK = 1_000
"""Confirmed records are checked this many at a time (the verifier's per-page work)."""

HELD = 10_000
"""At most this many records past the window's latest one are held back."""


class WindowChainCheck:
    """``see`` every record of the pass in log order, saying whether it is in the window
    (and, for one the pass decoded, its ``parsed_record``: it is not parsed again);
    ``result()`` is the chain check of ``first..last`` (``None`` when the window is empty)."""

    def __init__(self, store: EventStore, until: int) -> None:
        self._store, self._until = store, until
        self._verifier: ChainVerifier | None = None
        self._held: list[Notification] = []
        self._parsed: dict[int, ParsedRecord] = {}
        self._confirmed = 0
        self._fed = 0
        self._dropped = False
        self._report: IntegrityReport | None = None

    def see(
        self, notification: Notification, inside: bool, parsed: ParsedRecord | None = None
    ) -> None:
        if self._verifier is None:
            if not inside:
                return
            self._verifier = ChainVerifier(self._store, first=notification.id, until=self._until)
            self._fed = notification.id - 1
        if self._dropped:
            if not inside:
                return
            self._read_again(notification.id - 1)
        held = self._held
        held.append(notification)
        if parsed is not None:
            self._parsed[notification.id] = parsed
        if inside:
            self._confirmed = len(held)
            if self._confirmed >= CHUNK:
                self._feed_confirmed()
        elif len(held) - self._confirmed > HELD:
            self._feed_confirmed()
            held.clear()
            self._parsed.clear()
            self._dropped = True

    def result(self) -> IntegrityReport | None:
        if self._verifier is None or self._report is not None:
            return self._report
        self._feed_confirmed()
        self._report = self._verifier.finish(self._fed)
        self._verifier, self._held = None, []  # its sets of ids are not needed any more
        self._parsed = {}
        return self._report

    def _feed_confirmed(self) -> None:
        confirmed = self._confirmed
        if not confirmed or self._verifier is None:
            return
        self._verifier.feed(self._held[:confirmed], self._parsed)
        self._fed = self._held[confirmed - 1].id
        del self._held[:confirmed]
        self._confirmed = 0

    def _read_again(self, upto: int) -> None:
        """Check the dropped records ``fed+1..upto`` from the store, now that the window goes on."""
        assert self._verifier is not None  # set by the first record in the window
        for page in self._store.read_notifications(self._fed, stop=upto):
            self._verifier.feed(page)
            self._fed = page[-1].id
        self._dropped = False
