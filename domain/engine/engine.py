"""The trading loop: bars in, facts out, against ports (venue, sink, clock).

For each bar time: the venue works open orders against the new bars (fills at their open),
the book is marked, the strategy sees each bar at its close and may ask for orders, which the
order manager (``domain.engine.orders``) turns into ``SignalGenerated -> RiskDecisionMade ->
OrderSubmitted -> venue events``. A venue may also report between bars
(``TradingEngine.on_venue_report``); operator commands go through ``domain.engine.controls``.

Valuations: the in-memory equity curve gets a point every bar; a ``PortfolioValued`` is
recorded at the close of the bar that reaches each ``valuation_interval_us`` boundary (UTC
buckets aligned on bar time) and once when the run stops. Fills are facts of their own, so
positions and cash between two valuations follow from the log without another snapshot.

Two times: ``market_us`` follows the bars (what strategies, risk counters, accounting and the
equity curve use, so paper and backtest decide identically); the ``clock`` port stamps event
times (simulated in a backtest, the wall clock in paper and live).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from domain.engine.building import trusted
from domain.engine.context import EngineContext
from domain.engine.controls import OperatorControls
from domain.engine.equity_track import EquityTrack, EquityValues
from domain.engine.failures import StrategyFailedError
from domain.engine.journal import Journal
from domain.engine.orders import EngineCounters, OpenOrder, OrderManager
from domain.engine.ports import Clock, EventSink, Venue, VenueReport
from domain.engine.recorder import Recorder
from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BarClosed,
    PortfolioValued,
    RunFailed,
    StrategyRunStarted,
    StrategyRunStopped,
)
from domain.events.streams import run_stream
from domain.events.types import CancelOrigin, OrderType, RunMode, Side, TimeInForce, TradingState
from domain.market import Bar
from domain.portfolio import ZERO, Book
from domain.risk.engine import RiskEngine
from domain.strategy.base import OrderTicket, Strategy, StrategyFill
from domain.strategy.params import StrategyError
from domain.trades import ClosedTrade, EquityPoint

__all__ = [
    "EngineCounters",
    "OpenOrder",
    "RunSpec",
    "StrategyFailedError",
    "TradingEngine",
    "parse_interval",
]

DAY_US = 86_400_000_000
_INTERVAL = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
_UNIT_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": DAY_US}


def parse_interval(text: str) -> int:
    """``"1h"`` -> microseconds; seconds, minutes, hours or days (``30s``, ``15m``, ``1d``)."""
    match = _INTERVAL.match(text.strip())
    if match is None:
        raise ValueError(f"interval must look like 30s, 15m, 1h or 1d, got {text!r}")
    return int(match.group(1)) * _UNIT_US[match.group(2)]


@dataclass(frozen=True)
class RunSpec:
    """Identity and configuration of one run, as recorded in ``StrategyRunStarted``."""

    run_id: str
    strategy: str
    params: dict[str, str]
    symbols: list[str]
    mode: RunMode
    account: str
    initial_cash: Decimal
    config_hash: str
    interval: str
    interval_us: int
    record_bars: bool = False
    currency: str = "USD"
    valuation_interval_us: int = 3_600_000_000
    strategy_hash: str = ""


@dataclass
class _BarContext:
    bar: Bar
    event_id: str | None


class TradingEngine:
    """Runs one strategy for one account against one venue. Not thread-safe; one per run
    (a live venue's callbacks hand their reports to the thread that runs it).

    The journal is flushed at bar boundaries only: after ``flush_every`` bar times, or as soon
    as ``flush_events`` events are pending (0: no event limit), so the log always ends on one.
    Operator commands and venue reports between bars are flushed as they are recorded.
    """

    def __init__(
        self,
        spec: RunSpec,
        strategy: Strategy,
        *,
        venue: Venue,
        risk: RiskEngine,
        sink: EventSink,
        clock: Clock,
        flush_every: int = 1,
        flush_events: int = 0,
    ) -> None:
        self.spec = spec
        self.run_stream = run_stream(spec.run_id)
        self._strategy = strategy
        self._venue = venue
        self.risk = risk
        self.clock = clock
        self.journal = Journal(spec.run_id, sink)
        self.book = Book(strategy.strategy_name(), spec.initial_cash)
        self.counters = EngineCounters()
        self._recorder = Recorder(
            self.journal,
            clock,
            account=spec.account,
            strategy=strategy.strategy_name(),
            venue=venue.name,
        )
        self._system = self._recorder.system
        self.order_manager = OrderManager(
            run_id=spec.run_id,
            run_stream=self.run_stream,
            venue=venue,
            risk=risk,
            book=self.book,
            recorder=self._recorder,
            counters=self.counters,
            market_time=self._market_time,
            on_fill=self._strategy_on_fill,
        )
        self._controls = OperatorControls(
            run_stream=self.run_stream,
            risk=risk,
            recorder=self._recorder,
            orders=self.order_manager,
        )
        self._track = EquityTrack()
        self._track_fills = -1  # the fill count the track's last segment was opened at
        self._bars_held = 0  # bars in market of a run of several symbols
        self._one_symbol = len(spec.symbols) == 1 and not spec.record_bars
        self._risk_closes: list[Decimal] = []  # closes the risk engine has not been given
        self._risk_us = 0
        self._day_end_us = 0
        self.last_valuation: PortfolioValued | None = None
        self._flush_every = max(1, flush_every)
        self._flush_events = max(0, flush_events)
        self._since_flush = 0
        self._valuation_us = max(1, spec.valuation_interval_us)
        self._next_valuation_us = 0
        self._risk_equity: Decimal | None = None
        self._risk_day = -1
        self._last_bars: dict[str, _BarContext] = {}
        self._interval_us = spec.interval_us
        self._record_bars = spec.record_bars
        self._started = False
        self._stopped = False
        self._running = False
        self._in_step = False
        self.market_us = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, time_us: int) -> None:
        self.clock.observe(time_us)
        self.market_us = time_us
        self._next_valuation_us = (time_us // self._valuation_us + 1) * self._valuation_us
        self._record(
            StrategyRunStarted(
                run_id=self.spec.run_id,
                strategy=self.spec.strategy,
                params=self.spec.params,
                symbols=self.spec.symbols,
                mode=self.spec.mode,
                account=self.spec.account,
                initial_cash=self.spec.initial_cash,
                currency=self.spec.currency,
                config_hash=self.spec.config_hash,
                strategy_hash=self.spec.strategy_hash,
            )
        )
        if self.spec.mode is not RunMode.LIVE and self.spec.initial_cash > 0:
            self._record(
                AccountFunded(
                    account=self.spec.account,
                    currency=self.spec.currency,
                    amount=self.spec.initial_cash,
                )
            )
        self._started = self._running = True
        self._strategy.bind(EngineContext(self))
        try:
            self._strategy.on_start()
        except StrategyFailedError:
            raise
        except Exception as error:
            raise StrategyFailedError("on_start", error) from error
        self.journal.flush()

    def process(self, bars: Sequence[Bar]) -> None:
        """One bar time (one bar per symbol at most): fills, marks, strategy, valuation."""
        self.process_many((bars,))

    def process_many(self, groups: Iterable[Sequence[Bar]]) -> None:
        """``process`` for each bar time in order, with the per-call lookups done once (a
        backtest calls this with thousands of bar times at a time)."""
        if not self._running:
            raise RuntimeError("engine is not running; call start() first")
        self._in_step = True
        try:
            self._process(groups)
        finally:
            self._in_step = False
            self.counters.bars = len(self._track)  # one close time per bar time processed

    def _process(self, groups: Iterable[Sequence[Bar]]) -> None:
        if self._one_symbol:
            self._process_one_symbol(groups)
        else:
            self._process_groups(groups)

    def _process_one_symbol(self, groups: Iterable[Sequence[Bar]]) -> None:
        """The loop of a one-symbol run. Its book changes only on fills, so each bar adds only
        its close time and (while a position is open) its close to the equity track, and the
        risk engine is given the bars' equity in one step when it is about to be asked, a
        fill is about to change the book, or a UTC day ends (``_sync_risk``): the same
        states it would reach bar by bar. Per-bar counters live in locals, written back when
        the call ends (however it ends)."""
        observe, venue_on_bar = self.clock.observe, self._venue.on_bar
        counters, journal, book = self.counters, self.journal, self.book
        marks, strategy_on_bar = book.marks, self._strategy.on_bar
        add_time, pending = self._track.times.append, self._risk_closes
        interval_us, valuation_us = self._interval_us, self._valuation_us
        flush_every, flush_events = self._flush_every, self._flush_events
        on_report, sync_risk = self.order_manager.on_venue_report, self._sync_risk
        context = self._last_bars.get(self.spec.symbols[0])
        held = self._track.held_closes()
        day_end_us, next_valuation_us = self._day_end_us, self._next_valuation_us
        since_flush = self._since_flush
        try:
            for bars in groups:
                (bar,) = bars
                open_us = bar.time_us
                close_us = open_us + interval_us
                if close_us >= day_end_us:
                    if pending:
                        sync_risk()
                    day_end_us = (close_us // DAY_US + 1) * DAY_US
                observe(open_us)
                self.market_us = open_us
                reports = venue_on_bar(bar)
                if reports:
                    if pending:
                        sync_risk()
                    for report in reports:
                        on_report(report)
                close = bar.close
                marks[bar.symbol] = close
                observe(close_us)
                self.market_us = close_us
                if not pending:
                    self._risk_us = close_us
                pending.append(close)
                if context is None:
                    context = self._last_bars[bar.symbol] = _BarContext(bar, None)
                else:
                    context.bar = bar
                try:
                    strategy_on_bar(bar)
                except StrategyFailedError:
                    raise
                except Exception as error:
                    raise StrategyFailedError("on_bar", error) from error
                if counters.fills != self._track_fills:
                    held = self._open_segment()
                add_time(close_us)
                if held is not None:
                    held.append(close)
                if close_us >= next_valuation_us:
                    self._value(book.valuation()[0])
                    next_valuation_us = (close_us // valuation_us + 1) * valuation_us
                since_flush += 1
                if since_flush >= flush_every or (
                    flush_events and len(journal.pending) >= flush_events
                ):
                    journal.flush()
                    since_flush = 0
        finally:
            self._day_end_us, self._next_valuation_us = day_end_us, next_valuation_us
            self._since_flush = since_flush

    def _open_segment(self) -> list[Decimal] | None:
        """The book changed (a fill): the equity track's next bars follow the new one."""
        book = self.book
        self._track_fills = self.counters.fills
        equity, in_market = book.valuation()
        if in_market:
            ((_, quantity),) = book.open_positions().items()
            return self._track.open_held(book.cash, quantity)
        self._track.open_flat(equity)
        return None

    def _sync_risk(self) -> None:
        """Give the risk engine the equity of the bars it has not seen (one book, one UTC
        day): the first (which may start its day), the extreme (its peak) and the last. Its
        state after these three is the state after each bar's equity in turn, since equity
        here is monotonic in the close."""
        closes = self._risk_closes
        if not closes:
            return
        now_us, risk, book = self._risk_us, self.risk, self.book
        (symbol,) = self.spec.symbols
        risk.update_price(symbol, closes[-1])
        quantity = book.position(symbol)
        if not quantity:
            flat = book.valuation()[0]
            risk.update_equity(flat, now_us)
        else:
            cash = book.cash
            extreme = max(closes) if quantity > 0 else min(closes)
            for close in (closes[0], extreme, closes[-1]):
                risk.update_equity(cash + (ZERO + quantity * close), now_us)
        closes.clear()

    def _process_groups(self, groups: Iterable[Sequence[Bar]]) -> None:
        """The loop of a run of several symbols: each bar time valued and given to the risk
        engine as it closes."""
        observe, venue_on_bar = self.clock.observe, self._venue.on_bar
        book, risk, counters, journal = self.book, self.risk, self.counters, self.journal
        marks, valuation = book.marks, book.valuation
        update_price, update_equity = risk.update_price, risk.update_equity
        strategy_on_bar, last_bars = self._strategy.on_bar, self._last_bars
        add_equity = self._track.add
        interval_us, valuation_us = self._interval_us, self._valuation_us
        flush_every, flush_events = self._flush_every, self._flush_events
        record_bars, record, system = self._record_bars, self._recorder.record, self._system
        on_report, run = self.order_manager.on_venue_report, self.run_stream
        for bars in groups:
            open_us = bars[0].time_us
            close_us = open_us + interval_us
            observe(open_us)
            self.market_us = open_us
            for bar in bars:
                reports = venue_on_bar(bar)
                if reports:
                    for report in reports:
                        on_report(report)
            for bar in bars:
                marks[bar.symbol] = bar.close
                update_price(bar.symbol, bar.close)
            observe(close_us)
            self.market_us = close_us
            equity, in_market = valuation()
            marked_fills = counters.fills
            day = close_us // DAY_US
            # The risk engine's loss and drawdown state depends only on the equity it is
            # given and the UTC day, so an unchanged equity on the same day is not given again.
            if equity != self._risk_equity or day != self._risk_day:
                update_equity(equity, close_us)
                self._risk_equity, self._risk_day = equity, day
            for bar in bars:
                context = last_bars.get(bar.symbol)
                event_id = record(run, self._bar_closed(bar), system) if record_bars else None
                if context is None:
                    last_bars[bar.symbol] = _BarContext(bar, event_id)
                else:
                    context.bar, context.event_id = bar, event_id
                try:
                    strategy_on_bar(bar)
                except StrategyFailedError:
                    raise
                except Exception as error:
                    raise StrategyFailedError("on_bar", error) from error
            if counters.fills != marked_fills:
                equity, in_market = valuation()  # an order filled as the strategy placed it
            add_equity(close_us, equity)
            if in_market:
                self._bars_held += 1
            if close_us >= self._next_valuation_us:
                self._value(equity)
                self._next_valuation_us = (close_us // valuation_us + 1) * valuation_us
            self._since_flush += 1
            if self._since_flush >= flush_every or (
                flush_events and len(journal.pending) >= flush_events
            ):
                journal.flush()
                self._since_flush = 0

    def stop(self, reason: str) -> None:
        """Ends the run: the strategy's ``on_stop``, working orders canceled, final facts."""
        if self._stopped:
            return
        self._sync_risk()
        try:
            self._strategy.on_stop()
        except StrategyFailedError:
            raise
        except Exception as error:
            raise StrategyFailedError("on_stop", error) from error
        self.order_manager.cancel_all(
            "run stopped", requested_by=self._system.name, origin=CancelOrigin.RUN_STOPPED
        )
        self._value(self.book.equity)
        self._record(
            StrategyRunStopped(
                run_id=self.spec.run_id, reason=reason, final_equity=self.book.equity
            )
        )
        self._stopped = True
        self._running = False
        self.journal.flush()
        self._since_flush = 0

    def fail(self, failure: RunFailed) -> None:
        """Ends the run on an error in the strategy: working orders canceled, the failure
        recorded after every fact so far (the failing bar time's included)."""
        self._sync_risk()
        self._stopped = True
        self._running = False
        self.order_manager.cancel_all(
            "run failed", requested_by=self._system.name, origin=CancelOrigin.RUN_FAILED
        )
        self._record(failure)
        self.journal.flush()
        self._since_flush = 0

    def _bar_closed(self, bar: Bar) -> BarClosed:
        return BarClosed(
            symbol=bar.symbol,
            interval=self.spec.interval,
            open_time=bar.time,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
        )

    # --- venue reports and orders ----------------------------------------------------------

    def on_venue_report(self, report: VenueReport) -> None:
        """What a venue reports at any moment (a live venue's fill between bars, a cancel it
        confirms later): recorded against its order, or as ``VenueReportUnmatched`` when the
        run does not track the order. Flushed at once unless a bar time is being processed
        (then it is flushed with that bar time's facts)."""
        self._sync_risk()
        self.order_manager.on_venue_report(report)
        if not self._in_step:
            self.journal.flush()

    def submit(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        order_type: OrderType,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        time_in_force: TimeInForce,
        reason: str,
    ) -> OrderTicket:
        """A strategy's order request, priced at the last bar seen of ``symbol``."""
        self._sync_risk()
        context = self._last_bars.get(symbol)
        if context is None:
            raise StrategyError(f"no bar seen yet for {symbol}; cannot price an order")
        return self.order_manager.submit(
            context.bar,
            context.event_id,
            symbol,
            side,
            quantity,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            reason=reason,
        )

    @property
    def orders(self) -> dict[str, OpenOrder]:
        """Open orders by order id; read-only, do not mutate."""
        return self.order_manager.orders

    @property
    def reserved(self) -> Decimal:
        """Cash the open buy orders will use: Σ leaves x unit cost."""
        return self.order_manager.reserved

    @property
    def traded_notional(self) -> Decimal:
        return self.order_manager.traded_notional

    def pending_quantity(self, symbol: str) -> Decimal:
        return self.order_manager.pending_quantity(symbol)

    def selling_quantity(self, symbol: str) -> Decimal:
        return self.order_manager.selling_quantity(symbol)

    # --- operator commands -----------------------------------------------------------------

    # ``cause``: the event id of the operator's request (``OperatorCommandRequested``) when
    # the command came through the run's control stream.

    def engage_kill_switch(self, *, operator: str, reason: str, cause: str | None = None) -> None:
        """Stop all trading and cancel every working order, with who and why on record."""
        self._sync_risk()
        self._controls.engage_kill_switch(operator=operator, reason=reason, cause=cause)

    def release_kill_switch(self, *, operator: str, reason: str, cause: str | None = None) -> None:
        self._sync_risk()
        self._controls.release_kill_switch(operator=operator, reason=reason, cause=cause)

    def set_trading_state(
        self, state: TradingState, *, operator: str, reason: str, cause: str | None = None
    ) -> None:
        self._sync_risk()
        self._controls.set_trading_state(state, operator=operator, reason=reason, cause=cause)

    def change_limit(
        self, name: str, value: str, *, operator: str, reason: str, cause: str | None = None
    ) -> None:
        self._sync_risk()
        self._controls.change_limit(name, value, operator=operator, reason=reason, cause=cause)

    def cancel_order(
        self, order_id: str, *, reason: str, requested_by: str, cause: str | None = None
    ) -> None:
        """An operator's cancel of one open order (a strategy cancels through its context)."""
        self._sync_risk()
        self._controls.cancel_order(order_id, operator=requested_by, reason=reason, cause=cause)

    # --- valuation -------------------------------------------------------------------------

    def _value(self, equity: Decimal) -> None:
        """Record a ``PortfolioValued`` of the book as it is now (``equity`` is its equity)."""
        book = self.book
        valuation = trusted(
            PortfolioValued,
            {
                "run_id": self.spec.run_id,
                "account": self.spec.account,
                "strategy": self.spec.strategy,
                "cash": book.cash,
                "positions_value": book.positions_value,
                "equity": equity,
                "realized_pnl": book.realized,
                "unrealized_pnl": book.unrealized,
                "fees": book.fees,
                "positions": book.open_positions(),
            },
        )
        self.last_valuation = valuation
        self._record(valuation)

    # --- snapshots -------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        """The state a live session snapshot pickles (the equity track packs itself)."""
        self._sync_risk()
        return dict(vars(self))

    # --- helpers ---------------------------------------------------------------------------

    @property
    def curve_times(self) -> Sequence[int]:
        """Close time (UTC µs) of every bar time processed; read-only, do not mutate."""
        return self._track.times

    @property
    def curve_equity(self) -> EquityValues:
        """Equity at each of ``curve_times`` so far (computed when read)."""
        return self._track.values()

    @property
    def equity_curve(self) -> list[EquityPoint]:
        """Equity at the close of every bar time processed (a new list on each call)."""
        return list(map(EquityPoint, self._track.times, self._track.values()))

    @property
    def bars_in_market(self) -> int:
        """Bar times at whose close a position was open."""
        return self._bars_held + self._track.held_bars()

    @property
    def venue_name(self) -> str:
        return self._venue.name

    def venue_open_orders(self) -> list[str]:
        return self._venue.open_order_ids()

    def record_fact(self, payload: DomainEvent, *, cause: str | None = None) -> None:
        """Record a system fact about the run (reconciliation after a restart, an operator
        request it could not apply) and flush."""
        self._recorder.record(self.run_stream, payload, self._system, cause)
        self.journal.flush()

    @property
    def trades(self) -> list[ClosedTrade]:
        return self.book.trades

    @property
    def strategy(self) -> Strategy:
        """The run's strategy (warm-up hands it history, see ``domain.engine.warmup``)."""
        return self._strategy

    def _market_time(self) -> int:
        return self.market_us

    def _strategy_on_fill(self, fill: StrategyFill) -> None:
        try:
            self._strategy.on_fill(fill)
        except StrategyFailedError:
            raise
        except Exception as error:
            raise StrategyFailedError("on_fill", error) from error

    def _record(self, payload: DomainEvent) -> str:
        """Record a fact of the engine's own on the run stream."""
        return self._recorder.record(self.run_stream, payload, self._system)
