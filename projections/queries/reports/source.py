"""What a report covers (``ReportScope``) and where it reads it from (``ReportSource``).

Time semantics: a report covers the events whose EVENT time (bar time in a backtest, venue time
live) lies in ``[start, end)`` UTC; a day is ``[00:00, 24:00)`` UTC. The log is pinned at the
head read when the source opens, so a report never mixes two states of the log, and the log
positions it covers are the first and last position of the events in that window.

Two ways to read, kept apart on purpose: report content reads the read models (``engine``,
``clickhouse``) and the log; the cross-check recomputes every figure by folding
``events(...)`` alone, so a wrong read-model row cannot agree with itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Engine

from domain.events.codec import decode
from domain.events.envelope import RecordedEvent, to_microseconds
from infra.eventstore.store import EventStore
from projections.integrity import IntegrityReport, parsed_record, verify_log
from projections.queries.reports.window_chain import WindowChainCheck

REPORT_KINDS = ("trades", "compliance", "filing")


class ReportScopeError(ValueError):
    """A scope that cannot be reported on (bad range, unknown kind, unknown run)."""


@dataclass(frozen=True)
class Thresholds:
    """Where the compliance and filing reports flag behaviour. Defaults sit below the
    exchanges' high-frequency lines (CSRC: 300 orders+cancels per second, 20,000 per day)."""

    orders_per_second: int = 240
    messages_per_day: int = 16_000
    order_to_trade_ratio: Decimal = Decimal(10)
    cancel_ratio: Decimal = Decimal("0.9")
    instant_cancel_us: int = 1_000_000
    restricted_symbols: tuple[str, ...] = ()
    max_position: Decimal | None = None
    burst_messages: int = 50
    """An exception when one account sends more messages than this in one second."""
    wash_window_us: int = 60_000_000
    """An exception when a fill follows one on the other side (account, symbol) this soon."""


@dataclass(frozen=True)
class ReportScope:
    """One report's coverage: ``kind``, the event-time window ``[start, end)`` (UTC), and the
    account, run (a paper or backtest run; resolved to its account and strategy by
    ``ReportSource.open``) and strategy it is restricted to (``None``: all)."""

    kind: str
    start: datetime
    end: datetime
    account: str | None = None
    run: str | None = None
    strategy: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    def __post_init__(self) -> None:
        if self.kind not in REPORT_KINDS:
            raise ReportScopeError(
                f"unknown report kind {self.kind!r} (one of {', '.join(REPORT_KINDS)})"
            )
        for name, moment in (("from", self.start), ("to", self.end)):
            if moment.tzinfo is None or moment.utcoffset() != UTC.utcoffset(None):
                raise ReportScopeError(f"--{name} must be a UTC datetime, got {moment}")
        if self.start >= self.end:
            raise ReportScopeError(f"--from {self.start} is not before --to {self.end}")

    @property
    def start_us(self) -> int:
        return to_microseconds(self.start)

    @property
    def end_us(self) -> int:
        return to_microseconds(self.end)

    @property
    def owner(self) -> str:
        """Whose report it is, for the storage key: the account, else ``all``."""
        return self.account or "all"

    @property
    def period(self) -> str:
        """``FROM_TO`` for storage keys: compact UTC instants (``20260102T000000Z``)."""
        return f"{_compact(self.start)}_{_compact(self.end)}"

    def contains(self, event_time_us: int) -> bool:
        return self.start_us <= event_time_us < self.end_us

    def selects(self, account: str | None, strategy: str | None) -> bool:
        """Whether a fact of ``account``/``strategy`` belongs to this scope."""
        return (self.account is None or account == self.account) and (
            self.strategy is None or strategy == self.strategy
        )

    def as_pairs(self) -> tuple[tuple[str, str], ...]:
        """The scope as the document's ``scope`` entries (strings, fixed order)."""
        return (
            ("kind", self.kind),
            ("from", _iso(self.start)),
            ("to", _iso(self.end)),
            ("account", self.account or "all"),
            ("run", self.run or ""),
            ("strategy", self.strategy or "all"),
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _compact(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class ReportSource:
    """The log pinned at ``head`` plus the read models a report may query.

    ``engine`` is the SQL read model (``projections/queries/current_state.py`` takes it);
    ``clickhouse`` a ClickHouse client where analytics help (may be ``None``); with
    ``check_chain`` a ``fold_once`` pass also checks the hash chain of the positions it
    covers (``chain_check``), instead of a second read of them."""

    store: EventStore
    scope: ReportScope
    head: int
    engine: Engine | None = None
    clickhouse: Any = None
    check_chain: bool = False
    _covered: tuple[int, int] | None = field(default=None, repr=False)
    _chain: WindowChainCheck | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        store: EventStore,
        scope: ReportScope,
        *,
        engine: Engine | None = None,
        clickhouse: Any = None,
        head: int | None = None,
        check_chain: bool = False,
    ) -> ReportSource:
        """Pin the log at ``head`` (default: its head now; pass the position the read models
        were caught up to) and resolve ``scope.run`` to the run's account and strategy
        (``ReportScopeError`` for a run the log does not hold)."""
        pinned = store.head() if head is None else head
        source = cls(
            store=store,
            scope=scope,
            head=pinned,
            engine=engine,
            clickhouse=clickhouse,
            check_chain=check_chain,
        )
        if scope.run is not None:
            source.scope = source._resolved_run(scope)
        return source

    def _resolved_run(self, scope: ReportScope) -> ReportScope:
        for event in self.log(("StrategyRunStarted",)):
            if event.data["run_id"] == scope.run:
                return replace(
                    scope, account=event.data["account"], strategy=event.data["strategy"]
                )
        raise ReportScopeError(f"unknown run {scope.run!r}: the log holds no such run")

    def log(self, types: Collection[str] | None = None) -> Iterator[RecordedEvent]:
        """Every event up to ``head`` (any event time), of ``types`` if given, decoded."""
        topics = () if types is None else tuple(sorted(types))
        if types is not None and not topics:
            return
        for page in self.store.read_notifications(0, stop=self.head, topics=topics):
            for notification in page:
                yield decode(notification)

    def events(
        self, types: Collection[str] | None = None, *, history: bool = False
    ) -> Iterator[RecordedEvent]:
        """Events up to ``head`` in log order whose event time is in the scope's window, of
        ``types`` if given; with ``history`` every event before the window's end (what the
        state at the period's end, or its opening balance, is folded from). The first such
        read also finds ``covered()`` on the way (one pass over the log instead of two)."""
        start, end = self.scope.start_us, self.scope.end_us
        if self._covered is None:
            yield from self._events_finding_coverage(types, history=history)
            return
        for event in self.log(types):
            moment = event.event_time_us
            if moment < end and (history or moment >= start):
                yield event

    def _events_finding_coverage(
        self, types: Collection[str] | None, *, history: bool
    ) -> Iterator[RecordedEvent]:
        wanted = None if types is None else frozenset(types)
        start, end = self.scope.start_us, self.scope.end_us
        first = last = 0
        for page in self.store.read_notifications(0, stop=self.head):
            for notification in page:
                moment = _event_time_us(notification.state)
                inside = start <= moment < end
                if inside:
                    first = first or notification.id
                    last = notification.id
                if (wanted is None or notification.topic in wanted) and (
                    inside or (history and moment < end)
                ):
                    yield decode(notification)
        self._covered = (first, last)

    def fold_once(self, folds: Sequence[Fold]) -> None:
        """Read the log up to ``head`` ONCE for several folds (a report's build and its
        replay): each event is decoded at most once, if a fold asked for its type, and handed
        to those folds in the order given, in log order. Finds ``covered()`` on the way, and
        with ``check_chain`` checks the chain of the covered positions."""
        start, end = self.scope.start_us, self.scope.end_us
        window_chain = WindowChainCheck(self.store, self.head) if self.check_chain else None
        record = None if window_chain is None else window_chain.see
        inside = frozenset().union(*(fold.types for fold in folds))
        before = frozenset().union(*(fold.earlier for fold in folds))
        watchers = [fold.every for fold in folds if fold.every is not None]
        first = last = 0
        for page in self.store.read_notifications(0, stop=self.head):
            for notification in page:
                moment = _event_time_us(notification.state)
                for watch in watchers:
                    watch(notification.id, moment)
                topic = notification.topic
                if not start <= moment < end:
                    if record is not None:
                        record(notification, False)
                    if moment < start and topic in before:
                        event = decode(notification)
                        for fold in folds:
                            if topic in fold.earlier:
                                fold.see(event)
                    continue
                first = first or notification.id
                last = notification.id
                if topic not in inside:
                    if record is not None:
                        record(notification, True)
                    continue
                event = decode(notification)
                if record is not None:  # its part of the check, taken before any fold sees it
                    record(notification, True, parsed_record(event))
                for fold in folds:
                    if topic in fold.types:
                        fold.see(event)
        self._covered = (first, last)
        self._chain = window_chain

    def chain_check(self) -> IntegrityReport | None:
        """The chain check of the covered positions (``None`` when none are): the one a
        ``fold_once`` pass made, else one more read of them."""
        first, last = self.covered()
        if self._chain is not None:
            return self._chain.result()
        return verify_log(self.store, first=first, last=last) if first else None

    def covered(self) -> tuple[int, int]:
        """First and last log position of the events in the window, ``(0, 0)`` if none."""
        if self._covered is None:
            for _ in self.events(()):
                pass
        assert self._covered is not None  # the full pass above sets it
        return self._covered


@dataclass(frozen=True)
class Fold:
    """One consumer of ``ReportSource.fold_once``: ``see`` gets, in log order, the decoded
    events of ``types`` in the window and of ``earlier`` before it; ``every`` (if given) the
    position and event time of every event up to the head, decoded or not.

    Folds of one pass share each decoded event: none may change it. A report's replay is
    handed each event before its build, so a build that did could not make the two agree."""

    see: Callable[[RecordedEvent], None]
    types: frozenset[str]
    earlier: frozenset[str] = frozenset()
    every: Callable[[int, int], None] | None = None


_EVENT_TIME = b'"event_time_us":'


def _event_time_us(state: bytes) -> int:
    """The envelope's event time without decoding the whole record: the stored state is
    canonical JSON (sorted keys), so the envelope's ``event_time_us`` precedes the payload."""
    at = state.find(_EVENT_TIME) if isinstance(state, bytes) else -1
    if at < 0:
        return int(orjson.loads(state)["event_time_us"])
    start = at + len(_EVENT_TIME)
    return int(state[start : state.index(b",", start)])
