"""``ObjectStoreProjection``: end-of-day position snapshots under deterministic keys.

Positions are the signed sums of ``FillRecorded`` quantities per (account, strategy, symbol);
every other event class is ignored on purpose (``IGNORED``): it moves no position and only
advances the day and the checkpoint. A class in neither set stops the projection
(``projections.dispatch``).
When an event's UTC day (by event time) is later than the last one seen, the day(s) just
ended are sealed: ``snapshots/positions/<account>/<YYYY-MM-DD>.json`` holds every position of
that account at the end of the day, as the log stood before the first event of a later day.

Exactly once without transactions: each object is a pure function of the log (same log, same
bytes, whatever the batching), data objects are written before the checkpoint object, and the
checkpoint carries the running positions. A crash between the two means the next run rewrites
the same objects with identical bytes. The checkpoint also names the event store the snapshots
were built from (``store_id``, once a runner has attached one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters.objectstore import ObjectNotFoundError, ObjectStore, open_object_store
from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BalanceAdjusted,
    BarClosed,
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandApplied,
    OperatorCommandRejected,
    OperatorCommandRequested,
    PortfolioValued,
    ReconciliationCompleted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RunFailed,
    RunSnapshotSaved,
    SignalGenerated,
    StrategyRunStarted,
    StrategyRunStopped,
    TradingStateChanged,
    VenueConnectionChanged,
    VenueReportUnmatched,
)
from domain.events.codec import canonical_json
from domain.events.envelope import RecordedEvent
from domain.orders import STATUS_AFTER
from projections.dispatch import EventRoutes
from projections.queries.state import LogState

SNAPSHOT_PREFIX = "snapshots/positions/"
CHECKPOINT_KEY = "projections/objectstore/checkpoint.json"
FORMAT_VERSION = 1

Positions = dict[str, dict[tuple[str, str], Decimal]]  # account -> (strategy, symbol) -> qty


def snapshot_key(account: str, day: date) -> str:
    if not account or "/" in account or account.startswith("."):
        raise ValueError(f"account {account!r} cannot be used in an object key")
    return f"{SNAPSHOT_PREFIX}{account}/{day.isoformat()}.json"


@dataclass
class _Progress:
    """Everything needed to resume: last position, the current UTC day, running positions."""

    position: int = 0
    day: date | None = None
    positions: Positions = field(default_factory=dict)
    store_id: str | None = None

    def copy(self) -> _Progress:
        return _Progress(
            self.position,
            self.day,
            {acct: dict(book) for acct, book in self.positions.items()},
            self.store_id,
        )

    def encode(self) -> bytes:
        fields: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "position": self.position,
            "day": self.day.isoformat() if self.day else None,
            "positions": {
                account: [[s, sym, str(q)] for (s, sym), q in sorted(book.items())]
                for account, book in sorted(self.positions.items())
            },
        }
        if self.store_id is not None:
            fields["store_id"] = self.store_id
        return canonical_json(fields)

    @classmethod
    def decode(cls, data: bytes) -> _Progress:
        raw = json.loads(data)
        if raw.get("format") != FORMAT_VERSION:
            raise ValueError(f"{CHECKPOINT_KEY}: unknown format {raw.get('format')!r}")
        return cls(
            position=int(raw["position"]),
            day=date.fromisoformat(raw["day"]) if raw["day"] else None,
            positions={
                account: {(s, sym): Decimal(q) for s, sym, q in rows}
                for account, rows in raw["positions"].items()
            },
            store_id=raw.get("store_id"),
        )


class ObjectStoreProjection:
    """Writes one JSON snapshot per account per UTC day the log has moved past."""

    def __init__(self, store: ObjectStore, *, name: str = "objectstore") -> None:
        ROUTES.check()
        self.name = name
        self.store = store
        self._progress = self._load()
        self._store_id: str | None = None
        self.read_only = False

    @classmethod
    def open(
        cls, url: str, *, create: bool = False, read_only: bool = False
    ) -> ObjectStoreProjection:
        """Open ``LH_OBJECT_STORE`` (``create`` is accepted so every read model opens alike;
        a local directory is made by the first write); ``read_only`` never writes (``attach``
        records no store identity)."""
        projection = cls(open_object_store(url))
        projection.read_only = read_only
        return projection

    def checkpoint(self) -> int:
        return self._progress.position

    def source(self) -> str | None:
        return self._progress.store_id

    def attach(self, store_id: str) -> None:
        self._store_id = store_id
        if self.read_only:
            return
        if self._progress.position and self._progress.store_id is None:  # built before ids
            progress = self._progress.copy()
            progress.store_id = store_id
            self.store.put(CHECKPOINT_KEY, progress.encode(), "application/json")
            self._progress = progress

    def apply(self, batch: Sequence[RecordedEvent]) -> None:
        progress = self._progress.copy()
        writes: dict[str, bytes] = {}
        for event in batch:
            if event.position <= progress.position:
                continue
            day = datetime.fromtimestamp(event.event_time_us // 1_000_000, UTC).date()
            if progress.day is not None and day > progress.day:
                for ended in _days(progress.day, day):
                    writes.update(_snapshots(progress, ended))
            if progress.day is None or day > progress.day:
                progress.day = day
            book = ROUTES.handler(event)
            if book is not None:
                book(progress.positions, event.data)
            progress.position = event.position
        if progress.position == self._progress.position:
            return
        progress.store_id = self._store_id or progress.store_id
        for key in sorted(writes):
            self.store.put(key, writes[key], "application/json")
        self.store.put(CHECKPOINT_KEY, progress.encode(), "application/json")
        self._progress = progress

    def reset(self) -> None:
        for key in list(self.store.list(SNAPSHOT_PREFIX)):
            self.store.delete(key)
        self.store.delete(CHECKPOINT_KEY)
        self._progress = _Progress()

    def close(self) -> None:
        """Nothing to release: every write is already durable."""

    def snapshot(self, account: str, day: date) -> dict[str, Any]:
        """A stored end-of-day snapshot, parsed."""
        loaded: dict[str, Any] = json.loads(self.store.get(snapshot_key(account, day)))
        return loaded

    def mismatches(self, state: LogState) -> list[str]:
        """Running positions at the checkpoint vs positions folded from the log."""
        mine = {
            (account, strategy, symbol): quantity
            for account, book in self._progress.positions.items()
            for (strategy, symbol), quantity in book.items()
        }
        return [
            f"position {'/'.join(key)}: objectstore {mine.get(key)}, log {state.positions.get(key)}"
            for key in sorted(set(mine) | set(state.positions))
            if mine.get(key) != state.positions.get(key)
        ]

    def _load(self) -> _Progress:
        try:
            return _Progress.decode(self.store.get(CHECKPOINT_KEY))
        except ObjectNotFoundError:
            return _Progress()


def _days(last: date, now: date) -> list[date]:
    """The days that ended between an event on ``last`` and one on ``now``."""
    return [last + timedelta(days=offset) for offset in range((now - last).days)]


def _book_fill(positions: Positions, data: dict[str, Any]) -> None:
    quantity = Decimal(data["quantity"])
    book = positions.setdefault(data["account"], {})
    key = (data["strategy"], data["symbol"])
    book[key] = book.get(key, Decimal(0)) + (quantity if data["side"] == "BUY" else -quantity)


Booker = Callable[[Positions, dict[str, Any]], None]
HANDLED: dict[type[DomainEvent], Booker] = {FillRecorded: _book_fill}
IGNORED: frozenset[type[DomainEvent]] = frozenset(
    {
        VenueReportUnmatched,  # an order no run tracks: moves nothing; reconciliation reads the log
        OperatorCommandRequested,  # a request: its outcome event carries the effect
        OperatorCommandApplied,  # bookkeeping for recovery; the outcome carries the effect
        OperatorCommandRejected,  # nothing changed; `lh ctl status` reads requests from the log
        *STATUS_AFTER,  # order lifecycle: an order moves no position until it fills
        AccountFunded,  # cash, not positions: these snapshots hold positions only
        BalanceAdjusted,  # idem
        StrategyRunStarted,  # run lifecycle: moves no position
        StrategyRunStopped,  # idem
        RunFailed,  # idem
        BarClosed,  # market data: moves no position
        SignalGenerated,  # a wish, not a trade
        RiskDecisionMade,  # a decision, not a trade
        PortfolioValued,  # derived from fills and prices; positions come from FillRecorded
        RiskLimitsChanged,  # operator controls: move no position
        TradingStateChanged,  # idem
        KillSwitchEngaged,  # idem
        KillSwitchReleased,  # idem
        VenueConnectionChanged,  # link status: moves no position
        ReconciliationCompleted,  # a report of a comparison; moves no position
        RunSnapshotSaved,  # recovery's bookkeeping (a live session saved its state)
    }
)
ROUTES = EventRoutes("objectstore", HANDLED, IGNORED)


def _snapshots(progress: _Progress, day: date) -> dict[str, bytes]:
    return {
        snapshot_key(account, day): canonical_json(
            {
                "account": account,
                "date": day.isoformat(),
                "as_of_position": progress.position,
                "positions": [
                    {"strategy": strategy, "symbol": symbol, "quantity": str(quantity)}
                    for (strategy, symbol), quantity in sorted(book.items())
                ],
            }
        )
        for account, book in sorted(progress.positions.items())
    }
