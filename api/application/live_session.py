"""One live session's moving parts, called back by ``runloop.run_recorded``: connecting, building
or rebuilding the engine and reconciling (``resume``), feeding closed bars (``drive``), and the
circuit breaker's hold on trading (see ``api.application.live``)."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Protocol, TypeVar, runtime_checkable

from adapters.objectstore.base import ObjectStoreError
from api.application import live_snapshot
from api.application.control import SessionControl
from api.application.lease import RunLease
from api.application.live_config import LiveConfig, LiveParts
from api.application.live_connection import ConnectionManager
from api.application.live_snapshot import FactsSink, Outside, SessionFacts, SnapshotUnusableError
from api.application.live_venue import GuardedVenue
from api.application.paper import WallClock
from api.application.recorded_run import RecordedRun, RecoveryError
from api.application.recovery import (
    FILL_LOOKBACK_US,
    LiveReplay,
    reconcile_live,
    resume_live_engine,
    resume_live_from_snapshot,
)
from api.application.runloop import RecordingSink, Session
from api.application.runs import BacktestConfig, PreparedRun, RunConfigError
from domain.engine.engine import RunSpec, TradingEngine, parse_interval
from domain.engine.live_ports import VenueUnavailableError, WarmUpFeed
from domain.engine.ports import CollectingSink, EventSink, VenueOrder
from domain.engine.warmup import bar_groups, warm_up
from domain.events.catalog import OrderSubmitted, VenueConnectionChanged
from domain.events.streams import order_stream, run_stream
from domain.events.types import RunMode, TradingState
from domain.live.breaker import BreakerState, CircuitBreaker, Transition
from domain.live.replay import VenueSwitch
from domain.market import Bar
from domain.risk import RiskEngine
from domain.strategy import Strategy
from infra.eventstore.store import EventStore, wall_clock_us

log = logging.getLogger(__name__)
T = TypeVar("T")
BREAKER = "circuit-breaker"
"""The operator name of the trading-state changes the circuit breaker makes."""
MAX_BARS = "max bars reached"
FEED_ENDED = "feed ended"


@runtime_checkable
class FollowsOrders(Protocol):
    """A venue adapter that keeps track of the orders it reports on (``CcxtVenue``)."""

    def track(
        self, order: VenueOrder, *, filled: Decimal = ..., venue_order_id: str = ...
    ) -> None: ...

    def mark_fills_seen(self, venue_fill_ids: Sequence[str]) -> None: ...


class LiveSession:
    """The parts of one live session that ``run_recorded`` calls back."""

    def __init__(
        self, config: LiveConfig, store: EventStore, parts: LiveParts, strategy: Strategy
    ) -> None:
        self.config, self.store, self.parts = config, store, parts
        self.strategy = strategy
        self.clock = WallClock()
        self.engine: TradingEngine | None = None
        self.early: list[VenueConnectionChanged] = []
        self.connection = ConnectionManager(
            parts.venue,
            self._record_connection,
            backoff=parts.backoff,
            max_drift_ms=config.max_drift_ms,
            sleep=parts.sleep,
        )
        settings = config.breaker
        self.breaker = CircuitBreaker(
            failure_threshold=settings.failure_threshold,
            timeout_budget_seconds=settings.timeout_budget_seconds,
            open_seconds=settings.open_seconds,
            monotonic=parts.monotonic,
        )
        self.guarded = GuardedVenue(
            parts.venue,
            self.breaker,
            symbols=config.symbols,
            on_transition=self._on_transition,
            client_order_id=parts.client_order_id,
            monotonic=parts.monotonic,
            settle_seconds=parts.settle_seconds,
        )
        self.switch = VenueSwitch(self.guarded)
        self.halted_by_breaker = False
        self.feed: Iterator[Sequence[Bar]] = iter(parts.feed)
        self.bar_groups = self._bars()
        self.first: tuple[Bar, ...] | None = None
        self.done_us = -1
        self.groups: list[tuple[Bar, ...]] = []
        self.warmed_up = 0
        """How many history bars the strategy was warmed up on (0: none)."""
        self.bar_times = 0
        """Bar times the run has processed (since its start, or its latest snapshot's)."""
        self.facts = SessionFacts(0)
        self.unpicklable = False

    def prepare(self, run_id: str, *, digest: str, code: str, cash: Decimal) -> None:
        """The run's spec (``cash``: the recorded one, or the venue's quote balance now)."""
        config, strategy = self.config, self.strategy
        self.spec = RunSpec(
            run_id=run_id,
            strategy=type(strategy).strategy_name(),
            params={name: str(value) for name, value in sorted(strategy.params.items())},
            symbols=sorted(config.symbols),
            mode=RunMode.LIVE,
            account=config.account_name,
            initial_cash=cash,
            config_hash=digest,
            interval=config.timeframe,
            interval_us=parse_interval(config.timeframe),
            record_bars=True,
            valuation_interval_us=parse_interval(config.valuation_interval),
            strategy_hash=code,
        )
        self.prepared = PreparedRun(
            BacktestConfig(
                bars={},
                strategy=config.strategy,
                params=config.params,
                account=config.account_name,
                risk_limits=config.risk_limits,
                run_id=run_id,
            ),
            strategy,
            self.groups,
            self.spec,
        )

    # --- building the engine ---------------------------------------------------------------

    def resume(
        self, sink: RecordingSink, lease: RunLease
    ) -> tuple[TradingEngine, RecordedRun | None]:
        """Rebuild or start the engine, reconcile; then it may trade (connected already)."""
        spec = self.spec
        replay = self._replay(sink, lease)
        if replay is None:
            history = self._history()
            first = next(self.bar_groups, None)
            if not first:
                raise RunConfigError("the market-data feed ended before its first bar")
            self.first = tuple(first)
            engine = self._build(sink)
            engine.start(self.first[0].time_us)
            self.warmed_up = warm_up(engine, history)
            facts = SessionFacts(wall_clock_us())
            since_us = facts.last_fill_us - FILL_LOOKBACK_US
            recorded = None
        else:
            engine, recorded, facts = replay.engine, replay.recorded, replay.facts
            self.groups.extend(replay.groups)
            self.bar_times += len(replay.groups)
            if replay.groups:
                self.done_us = replay.groups[-1][0].time_us
            since_us = facts.last_fill_us - FILL_LOOKBACK_US
            self.halted_by_breaker = _halted_by_breaker(engine, facts)
        fill_ids, adjustments = set(facts.fill_ids), dict(facts.adjustments)
        self.facts = facts
        engine.journal.sink = FactsSink(engine.journal.sink, facts)
        self.switch.current = self.guarded
        self.guarded.before_send = engine.journal.flush
        self.engine = engine
        for fact in self.early:
            engine.record_fact(fact)
        self.early.clear()
        if replay is not None:
            self._settle(replay.last_event_us)
        self.retrying(
            lambda: reconcile_live(
                engine,
                self.parts.venue,
                symbols=self.config.symbols,
                client_order_id=self.parts.client_order_id,
                fill_ids=fill_ids,
                since_us=since_us,
                adjustments=adjustments,
            )
        )
        self.guarded.seen_fills = set(fill_ids)
        self._hand_over(engine, fill_ids)
        if self.halted_by_breaker:
            self._restore_trading("the venue answers again after a restart")
        self.parts.on_ready(spec.run_id)
        return engine, recorded

    def _replay(self, sink: RecordingSink, lease: RunLease) -> LiveReplay | None:
        """The run rebuilt from its log: from its latest snapshot when one is usable (a
        warning says why not otherwise), else by replaying the whole log; ``None`` for a
        run the log does not hold."""
        spec, objects = self.spec, self.parts.snapshots
        if objects is not None and self.store.stream_version(run_stream(spec.run_id)):
            dry = CollectingSink()
            try:
                snapshot = live_snapshot.load(
                    objects, self.store, spec.run_id, Outside(self.switch, self.clock, dry)
                )
                self.done_us, self.bar_times = snapshot.done_us, snapshot.bar_times
                return resume_live_from_snapshot(
                    snapshot,
                    self.switch,
                    self.store,
                    spec.run_id,
                    dry=dry,
                    sink=sink,
                    beat=lease.beat,
                )
            except (SnapshotUnusableError, RecoveryError) as error:
                log.warning("%s; replaying the whole log of run %s", error, spec.run_id)
                self.done_us, self.bar_times = -1, 0
        return resume_live_engine(
            self._build,
            self.switch,
            self.store,
            spec.run_id,
            sink,
            config_hash=spec.config_hash,
            strategy_hash=spec.strategy_hash,
            beat=lease.beat,
            warm_up=self._warm_up_again,
        )

    def _snapshot(self, engine: TradingEngine, applied: frozenset[str]) -> None:
        """Take a snapshot every ``snapshot_every`` bar times (none without an object store or
        with 0); a strategy that cannot be pickled is told once, and the session goes on; a
        snapshot that cannot be stored is told, and the restart uses the previous one."""
        objects, every = self.parts.snapshots, self.config.snapshot_every
        if objects is None or not every or self.bar_times % every or self.unpicklable:
            return
        self.facts.applied = applied
        try:
            live_snapshot.take(
                objects,
                engine,
                self.facts,
                done_us=self.done_us,
                bar_times=self.bar_times,
                outside=Outside(self.switch, self.clock, engine.journal.sink),
            )
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            self.unpicklable = True
            log.warning(
                "no snapshots for run %s: its strategy cannot be saved (%s); a restart "
                "replays the whole log",
                self.spec.run_id,
                error,
            )
        except (ObjectStoreError, OSError) as error:
            log.warning("snapshot of run %s not stored: %s", self.spec.run_id, error)

    def _history(self) -> list[tuple[Bar, ...]]:
        """A new run's warm-up bars: the strategy's ``warmup_bars`` closed before the first
        live bar (the feed continues after them); none from a feed without history."""
        feed, count = self.parts.feed, self.strategy.warmup_bars()
        if not isinstance(feed, WarmUpFeed) or count <= 0:
            return []
        return bar_groups(self.retrying(lambda: feed.warmup(count)))

    def _warm_up_again(self, engine: TradingEngine, first_us: int | None) -> None:
        """A restart warms the rebuilt strategy up on the same history before replaying the
        log: the bars that closed before the run's first bar. A run with no bar recorded yet
        warms up as a new run does (its first bar then follows these, and later restarts
        find them before it)."""
        feed, count = self.parts.feed, self.strategy.warmup_bars()
        if not isinstance(feed, WarmUpFeed) or count <= 0:
            return
        if first_us is None:
            groups = self._history()
        else:
            groups = bar_groups(self.retrying(lambda: feed.history_before(first_us, count)))
        self.warmed_up = warm_up(engine, groups)

    def retrying(self, call: Callable[[], T]) -> T:
        """``call()``, asked again after a back-off while the venue does not answer (up to
        the connection's attempts; then ``VenueUnavailableError``)."""
        backoff = self.parts.backoff
        for _ in range(self.connection.max_attempts - 1):
            try:
                answer = call()
            except VenueUnavailableError:
                self.parts.sleep(backoff.next_delay())
                continue
            backoff.reset()
            return answer
        return call()

    def _settle(self, last_event_us: int) -> None:
        """Wait until a request the crashed process may have had in flight can no longer
        reach the venue, so the venue's answers are final."""
        wait = self.parts.settle_seconds - (wall_clock_us() - last_event_us) / 1_000_000
        if wait > 0:
            self.parts.sleep(wait)

    def _hand_over(self, engine: TradingEngine, fill_ids: set[str]) -> None:
        """An adapter that follows its own orders (the ccxt venue) is told the orders the
        log holds open and the fills it holds, so it reports what follows and nothing twice."""
        venue = self.parts.venue
        if not isinstance(venue, FollowsOrders):
            return
        for order in engine.orders.values():
            submitted = self.store.read_stream(order_stream(order.order_id))[0].payload
            assert isinstance(submitted, OrderSubmitted)
            venue.track(
                VenueOrder(
                    order.order_id,
                    order.symbol,
                    order.side,
                    submitted.order_type,
                    order.quantity,
                    submitted.limit_price,
                    submitted.stop_price,
                    submitted.time_in_force,
                ),
                filled=order.filled,
                venue_order_id=order.venue_order_id,
            )
        venue.mark_fills_seen(sorted(fill_ids))

    def _build(self, sink: EventSink) -> TradingEngine:
        config = self.config
        risk = RiskEngine(config.account_name, config.risk_limits, fee_rate=config.fee_rate)
        return TradingEngine(
            self.spec,
            self.strategy,
            venue=self.switch,
            risk=risk,
            sink=sink,
            clock=self.clock,
            flush_every=1,
        )

    def quote_balance(self) -> Decimal:
        """A new run's cash: the venue's balance in the symbols' quote currency."""
        quotes = {symbol.partition("/")[2] for symbol in self.config.symbols}
        return sum(
            (b.total for b in self.parts.venue.balances() if b.currency in quotes), Decimal(0)
        )

    # --- trading ---------------------------------------------------------------------------

    def drive(self, session: Session) -> str:
        engine = session.engine
        control = SessionControl(self.store, self.spec.run_id, session.applied)
        control.apply_pending(engine)
        processed = 0
        groups = self.bar_groups
        if self.first is not None:
            groups = _chain(self.first, groups)
        try:
            for group in groups:
                session.beat()
                bars = tuple(group)
                if not bars or bars[0].time_us <= self.done_us:
                    continue  # a bar time the log already holds
                engine.process(bars)
                self.groups.append(bars)
                self.done_us = bars[0].time_us
                self.bar_times += 1
                control.apply_pending(engine)
                self._snapshot(engine, session.applied | control.applied)
                processed += 1
                if self.config.max_bars is not None and processed >= self.config.max_bars:
                    return MAX_BARS
        except KeyboardInterrupt:
            return "operator stop"
        return FEED_ENDED

    def _bars(self) -> Iterator[Sequence[Bar]]:
        """The feed's bar groups; a feed that cannot reach the venue counts against the
        breaker and is asked again after a back-off (it continues where it was)."""
        backoff = self.parts.backoff
        while True:
            try:
                for group in self.feed:
                    backoff.reset()
                    yield group
                return
            except VenueUnavailableError as error:
                transition = self.breaker.failure(f"market data: {error}")
                if transition is not None:
                    self._on_transition(transition)
                self.parts.sleep(backoff.next_delay())
                self.feed = iter(self.parts.feed)

    # --- the breaker and the connection ----------------------------------------------------

    def _record_connection(self, fact: VenueConnectionChanged) -> None:
        if self.engine is None:
            self.early.append(fact)  # connected before the engine exists: recorded first
        else:
            self.engine.record_fact(fact)

    def _on_transition(self, transition: Transition) -> None:
        engine = self.engine
        if engine is None:
            return
        if transition.new is BreakerState.OPEN:
            self.connection.lost(f"circuit breaker open: {transition.reason}")
            state = self.config.breaker.open_state
            if engine.risk.state is TradingState.ACTIVE and state is not TradingState.ACTIVE:
                engine.set_trading_state(state, operator=BREAKER, reason=transition.reason)
                self.halted_by_breaker = True
        elif transition.new is BreakerState.CLOSED:
            self.connection.restored(f"circuit breaker closed: {transition.reason}")
            if self.halted_by_breaker:
                self._restore_trading(transition.reason)

    def _restore_trading(self, reason: str) -> None:
        engine = self.engine
        assert engine is not None
        self.halted_by_breaker = False
        if engine.risk.state is not TradingState.ACTIVE:
            engine.set_trading_state(TradingState.ACTIVE, operator=BREAKER, reason=reason)


def _chain(first: Sequence[Bar], rest: Iterator[Sequence[Bar]]) -> Iterator[Sequence[Bar]]:
    yield first
    yield from rest


def _halted_by_breaker(engine: TradingEngine, facts: SessionFacts) -> bool:
    """Whether trading is not ACTIVE because the breaker moved it (restored after a restart)."""
    change = facts.last_state_change
    return (
        engine.risk.state is not TradingState.ACTIVE
        and change is not None
        and change.operator == BREAKER
    )
