"""The trading loop: bars in, facts out, against ports (venue, sink, clock).

For each bar time: the venue works open orders against the new bars (fills at their open),
the book is marked, the strategy sees each bar at its close and may ask for orders, which
become ``SignalGenerated -> RiskDecisionMade -> OrderSubmitted -> venue events``. Nothing
reaches the venue without an approved risk decision.

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
from collections.abc import Iterable, KeysView, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.engine.journal import Journal
from domain.engine.ports import (
    Accepted,
    Canceled,
    Clock,
    EventSink,
    Expired,
    Filled,
    Rejected,
    Venue,
    VenueOrder,
    VenueReport,
)
from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BarClosed,
    FillRecorded,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderExpired,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    PortfolioValued,
    RiskDecisionMade,
    RunFailed,
    SignalGenerated,
    StrategyRunStarted,
    StrategyRunStopped,
)
from domain.events.envelope import Actor
from domain.events.streams import order_stream, run_stream
from domain.events.types import (
    ActorKind,
    Liquidity,
    OrderType,
    RunMode,
    Side,
    TimeInForce,
    TradingState,
)
from domain.market import Bar
from domain.portfolio import Book
from domain.risk.engine import RiskEngine
from domain.strategy.base import OrderTicket, Strategy, StrategyFill
from domain.strategy.params import StrategyError
from domain.trades import ClosedTrade, EquityPoint
from domain.values import PRICE, QUANTITY, order_problem, within

ZERO = Decimal(0)
E = TypeVar("E", bound=BaseModel)
DAY_US = 86_400_000_000
_INTERVAL = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
_QUANTITY_LIMIT = QUANTITY.limit
_PRICE_LIMIT = PRICE.limit
_UNIT_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": DAY_US}


def parse_interval(text: str) -> int:
    """``"1h"`` -> microseconds; seconds, minutes, hours or days (``30s``, ``15m``, ``1d``)."""
    match = _INTERVAL.match(text.strip())
    if match is None:
        raise ValueError(f"interval must look like 30s, 15m, 1h or 1d, got {text!r}")
    return int(match.group(1)) * _UNIT_US[match.group(2)]


_SHAPES: dict[type[BaseModel], tuple[KeysView[str], set[str]]] = {}
_set_attribute = object.__setattr__


def _trusted(cls: type[E], **values: Any) -> E:
    """An event (or event value) built from values that are already valid: computed by the
    engine from validated inputs, so pydantic validation would only repeat work. Every field
    must be given; the result serializes exactly as the validated model would. Models of one
    class share one fields-set (frozen models never change it; pydantic copies it on copy)."""
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = (cls.model_fields.keys(), set(cls.model_fields))
    if values.keys() != shape[0]:
        raise TypeError(f"{cls.__name__} needs exactly the fields {sorted(shape[0])}")
    model = object.__new__(cls)
    _set_attribute(model, "__dict__", values)
    _set_attribute(model, "__pydantic_fields_set__", shape[1])
    _set_attribute(model, "__pydantic_extra__", None)
    _set_attribute(model, "__pydantic_private__", None)
    return model


def _plain_request(
    side: object,
    quantity: object,
    order_type: object,
    reason: object,
    *,
    limit_price: object,
    stop_price: object,
) -> bool:
    """Whether an order request is already valid as given: enum members, positive Decimals
    within their bounds (``domain.values``) and a str reason. Such requests skip pydantic;
    anything else is validated, and refused with a message naming the bound it breaks."""
    return (
        type(side) is Side
        and type(order_type) is OrderType
        and type(reason) is str
        and _bounded(quantity, _QUANTITY_LIMIT)
        and (limit_price is None or _bounded(limit_price, _PRICE_LIMIT))
        and (stop_price is None or _bounded(stop_price, _PRICE_LIMIT))
    )


def _bounded(value: object, limit: Decimal) -> bool:
    return type(value) is Decimal and within(value, limit) and value > 0


def _plain_fill(report: Filled) -> bool:
    fee = report.fee
    return (
        _positive_decimal(report.price)
        and _positive_decimal(report.quantity)
        and type(fee) is Decimal
        and fee.is_finite()
        and fee >= 0
        and type(report.liquidity) is Liquidity
        and type(report.fee_currency) is str
        and type(report.venue_order_id) is str
        and type(report.venue_fill_id) is str
    )


def _refuse_out_of_bounds(quantity: object, limit_price: object, stop_price: object) -> None:
    """An order beyond the value bounds would record values the read models cannot hold (or
    whose notional they cannot): refused before anything is recorded, as a strategy error."""
    problem = order_problem(quantity, limit_price, stop_price)
    if problem:
        raise StrategyError(f"invalid order request: {problem}")


def _positive_decimal(value: object) -> bool:
    return type(value) is Decimal and value.is_finite() and value > 0


class StrategyFailedError(Exception):
    """The strategy's own code raised in one of its hooks; the run cannot go on.

    ``error`` is what it raised (with its traceback), ``hook`` the hook it raised in.
    """

    def __init__(self, hook: str, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.hook = hook
        self.error = error

    def __reduce__(self) -> tuple[type[StrategyFailedError], tuple[str, Exception]]:
        return type(self), (self.hook, self.error)  # crosses process boundaries intact


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
class OpenOrder:
    """The engine's view of one order until it is filled, canceled, expired or rejected."""

    order_id: str
    strategy: str
    symbol: str
    side: Side
    quantity: Decimal
    submitted_event_id: str
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    venue_order_id: str = ""
    unit_cost: Decimal = ZERO  # cash each unit still to buy keeps reserved (0 for a sale)

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled


@dataclass
class EngineCounters:
    """Sequence numbers for derived ids (signals, orders) so ids stay deterministic."""

    intents: int = 0
    fills: int = 0
    bars: int = 0


@dataclass
class _BarContext:
    bar: Bar
    event_id: str | None


class TradingEngine:
    """Runs one strategy for one account against one venue. Not thread-safe; one per run.

    The journal is flushed at bar boundaries only: after ``flush_every`` bar times, or as soon
    as ``flush_events`` events are pending (0: no event limit), so the log always ends on one.
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
        self.orders: dict[str, OpenOrder] = {}
        self.reserved = ZERO  # cash the open buy orders will use: Σ leaves x unit cost
        self.counters = EngineCounters()
        # The equity curve as two flat lists (ints and Decimals are not tracked by the garbage
        # collector; a million ``EquityPoint``s would be, and slow every collection down).
        self._curve_times: list[int] = []
        self._curve_equity: list[Decimal] = []
        self.traded_notional = ZERO
        self.bars_in_market = 0
        self.last_valuation: PortfolioValued | None = None
        self._flush_every = max(1, flush_every)
        self._flush_events = max(0, flush_events)
        self._since_flush = 0
        self._valuation_us = max(1, spec.valuation_interval_us)
        self._next_valuation_us = 0
        self._risk_equity: Decimal | None = None
        self._risk_day = -1
        self._last_bars: dict[str, _BarContext] = {}
        self._strategy_actor = Actor(ActorKind.STRATEGY, strategy.strategy_name(), spec.account)
        self._venue_actor = Actor(ActorKind.VENUE, venue.name, spec.account)
        self._system_actor = Actor(ActorKind.SYSTEM, "engine", spec.account)
        self._interval_us = spec.interval_us
        self._record_bars = spec.record_bars
        self._started = False
        self._stopped = False
        self._running = False
        self.market_us = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, time_us: int) -> None:
        self.clock.observe(time_us)
        self.market_us = time_us
        self._next_valuation_us = (time_us // self._valuation_us + 1) * self._valuation_us
        self._record(
            self.run_stream,
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
            ),
            self._system_actor,
        )
        if self.spec.mode is not RunMode.LIVE and self.spec.initial_cash > 0:
            self._record(
                self.run_stream,
                AccountFunded(
                    account=self.spec.account,
                    currency=self.spec.currency,
                    amount=self.spec.initial_cash,
                ),
                self._system_actor,
            )
        self._started = self._running = True
        self._strategy.bind(_Context(self))
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
        observe, venue_on_bar = self.clock.observe, self._venue.on_bar
        book, risk, counters, journal = self.book, self.risk, self.counters, self.journal
        marks, valuation = book.marks, book.valuation
        update_price, update_equity = risk.update_price, risk.update_equity
        strategy_on_bar, last_bars = self._strategy.on_bar, self._last_bars
        add_time, add_equity = self._curve_times.append, self._curve_equity.append
        interval_us, valuation_us = self._interval_us, self._valuation_us
        flush_every, flush_events = self._flush_every, self._flush_events
        record_bars = self._record_bars
        for bars in groups:
            open_us = bars[0].time_us
            close_us = open_us + interval_us
            observe(open_us)
            self.market_us = open_us
            for bar in bars:
                reports = venue_on_bar(bar)
                if reports:
                    for report in reports:
                        self._on_report(report, None)
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
                event_id = (
                    self._record(self.run_stream, self._bar_closed(bar), self._system_actor)
                    if record_bars
                    else None
                )
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
            add_time(close_us)
            add_equity(equity)
            if in_market:
                self.bars_in_market += 1
            if close_us >= self._next_valuation_us:
                self._value(equity)
                self._next_valuation_us = (close_us // valuation_us + 1) * valuation_us
            counters.bars += 1
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
        try:
            self._strategy.on_stop()
        except StrategyFailedError:
            raise
        except Exception as error:
            raise StrategyFailedError("on_stop", error) from error
        self._cancel_all("run stopped", None, "engine")
        self._value(self.book.equity)
        self._record(
            self.run_stream,
            StrategyRunStopped(
                run_id=self.spec.run_id, reason=reason, final_equity=self.book.equity
            ),
            self._system_actor,
        )
        self._stopped = True
        self._running = False
        self.journal.flush()
        self._since_flush = 0

    def fail(self, failure: RunFailed) -> None:
        """Ends the run on an error in the strategy: working orders canceled, the failure
        recorded after every fact so far (the failing bar time's included)."""
        self._stopped = True
        self._running = False
        self._cancel_all("run failed", None, "engine")
        self._record(self.run_stream, failure, self._system_actor)
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

    # --- operator commands -----------------------------------------------------------------

    # ``cause``: the event id of the operator's request (``OperatorCommandRequested``) when
    # the command came through the run's control stream.

    def engage_kill_switch(self, *, operator: str, reason: str, cause: str | None = None) -> None:
        """Stop all trading and cancel every working order, with who and why on record."""
        event = self.risk.engage_kill_switch(operator=operator, reason=reason)
        engaged = self._record(self.run_stream, event, self._operator(operator), cause)
        self._cancel_all(f"kill switch: {reason}", engaged, operator)
        self.journal.flush()

    def release_kill_switch(self, *, operator: str, reason: str, cause: str | None = None) -> None:
        event = self.risk.release_kill_switch(operator=operator, reason=reason)
        self._record(self.run_stream, event, self._operator(operator), cause)
        self.journal.flush()

    def set_trading_state(
        self, state: TradingState, *, operator: str, reason: str, cause: str | None = None
    ) -> None:
        event = self.risk.set_trading_state(state, operator=operator, reason=reason)
        self._record(self.run_stream, event, self._operator(operator), cause)
        self.journal.flush()

    def change_limit(
        self, name: str, value: str, *, operator: str, reason: str, cause: str | None = None
    ) -> None:
        event = self.risk.change_limit(name, value, operator=operator, reason=reason)
        self._record(self.run_stream, event, self._operator(operator), cause)
        self.journal.flush()

    def cancel_order(
        self,
        order_id: str,
        *,
        reason: str,
        requested_by: str,
        cause: str | None = None,
        by_operator: bool = False,
    ) -> None:
        """Ask the venue to cancel an open order: the strategy's request, or an operator's
        (``by_operator``: recorded with the operator as actor, caused by ``cause``)."""
        order = self.orders.get(order_id)
        if order is None:
            raise StrategyError(f"order {order_id} is not open")
        actor = self._operator(requested_by) if by_operator else self._strategy_actor
        request = self._record(
            order_stream(order_id),
            OrderCancelRequested(order_id=order_id, reason=reason, requested_by=requested_by),
            actor,
            cause or order.submitted_event_id,
        )
        for report in self._venue.cancel(order_id, reason):
            self._on_report(report, request)
        if by_operator:
            self.journal.flush()

    # --- orders ----------------------------------------------------------------------------

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
        context = self._last_bars.get(symbol)
        if context is None:
            raise StrategyError(f"no bar seen yet for {symbol}; cannot price an order")
        counters = self.counters
        counters.intents += 1
        n = counters.intents
        spec = self.spec
        run = spec.run_id
        client_order_id, order_id = f"{run}-c{n}", f"{run}-o{n}"
        signal_id, decision_id = f"{run}-s{n}", f"{run}-d{n}"
        position = self.book.position(symbol)
        pending = self.pending_quantity(symbol)
        bar = context.bar
        intent_fields: dict[str, Any] = {
            "client_order_id": client_order_id,
            "account": spec.account,
            "strategy": spec.strategy,
            "symbol": symbol,
            "side": side,
            "quantity": quantity,
            "order_type": order_type,
            "limit_price": limit_price,
            "stop_price": stop_price,
            "reference_price": bar.close,
        }
        # A request of plain valid values skips pydantic; anything else is validated, for its
        # precise error messages.
        plain = _plain_request(
            side, quantity, order_type, reason, limit_price=limit_price, stop_price=stop_price
        )
        try:
            if plain:
                intent = _trusted(OrderIntent, **intent_fields)
            else:
                _refuse_out_of_bounds(quantity, limit_price, stop_price)
                intent = OrderIntent(**intent_fields)
                _refuse_out_of_bounds(intent.quantity, intent.limit_price, intent.stop_price)
            signal_fields: dict[str, Any] = {
                "signal_id": signal_id,
                "run_id": run,
                "strategy": spec.strategy,
                "symbol": symbol,
                "side": intent.side,
                "quantity": intent.quantity,
                "target_position": position + pending + intent.side.sign * intent.quantity,
                "reason": reason,
                "bar_time": bar.time,
                "bar_close": bar.close,
            }
            signal = (
                _trusted(SignalGenerated, **signal_fields)
                if plain
                else SignalGenerated(**signal_fields)
            )
        except ValidationError as error:
            raise StrategyError(f"invalid order request: {error.errors()[0]['msg']}") from None
        if type(time_in_force) is not TimeInForce:
            try:
                time_in_force = TimeInForce(time_in_force)
            except ValueError:
                raise StrategyError(f"invalid time in force {time_in_force!r}") from None
        strategy_actor = self._strategy_actor
        signal_event = self._record(self.run_stream, signal, strategy_actor, context.event_id)
        check = self.risk.check(
            intent,
            now_us=self.market_us,
            position=position,
            cash=self.book.cash,
            pending=pending,
            selling=self.selling_quantity(symbol) if pending else ZERO,
            reserved=self.reserved,
        )
        decision_event = self._record(
            self.run_stream,
            _trusted(
                RiskDecisionMade,
                decision_id=decision_id,
                intent=intent,
                approved=check.approved,
                rules=check.rule_outcomes(),
                signal_id=signal_id,
            ),
            strategy_actor,
            signal_event,
        )
        if not check.approved:
            return OrderTicket(
                client_order_id, False, None, "rejected by " + ", ".join(check.failed)
            )
        side, quantity = intent.side, intent.quantity
        submitted = self._record(
            order_stream(order_id),
            # Every value was validated in ``intent`` (or is ours): no second validation.
            _trusted(
                OrderSubmitted,
                order_id=order_id,
                client_order_id=client_order_id,
                account=intent.account,
                strategy=intent.strategy,
                symbol=symbol,
                side=side,
                order_type=intent.order_type,
                quantity=quantity,
                limit_price=intent.limit_price,
                stop_price=intent.stop_price,
                time_in_force=time_in_force,
                decision_id=decision_id,
                venue=self._venue.name,
            ),
            strategy_actor,
            decision_event,
        )
        unit_cost = check.unit_cost
        self.orders[order_id] = OpenOrder(
            order_id, spec.strategy, symbol, side, quantity, submitted, unit_cost=unit_cost
        )
        if unit_cost:
            self.reserved += quantity * unit_cost
        reports = self._venue.submit(
            VenueOrder(
                order_id,
                symbol,
                side,
                intent.order_type,
                quantity,
                intent.limit_price,
                intent.stop_price,
                time_in_force,
            )
        )
        rejected = ""
        for report in reports:
            if type(report) is Rejected:
                rejected = report.reason
            self._on_report(report, submitted)
        if rejected:
            return OrderTicket(client_order_id, False, order_id, f"venue rejected: {rejected}")
        return OrderTicket(client_order_id, True, order_id)

    def pending_quantity(self, symbol: str) -> Decimal:
        if not self.orders:
            return ZERO  # the usual case, asked before every order
        return sum(
            (o.side.sign * o.leaves for o in self.orders.values() if o.symbol == symbol), ZERO
        )

    def selling_quantity(self, symbol: str) -> Decimal:
        """What open sell orders of ``symbol`` still have to sell (a spot account's holdings
        they have spoken for, whatever open buys may bring)."""
        return sum(
            (o.leaves for o in self.orders.values() if o.symbol == symbol and o.side.sign < 0),
            ZERO,
        )

    def _on_report(self, report: VenueReport, cause: str | None) -> None:
        order = self.orders.get(report.order_id)
        if order is None:
            raise RuntimeError(f"venue reported on unknown order {report.order_id}")
        stream = order_stream(order.order_id)
        cause = cause or order.submitted_event_id
        if isinstance(report, Accepted):
            order.venue_order_id = report.venue_order_id
            self._record(
                stream,
                _trusted(
                    OrderAccepted,
                    order_id=order.order_id,
                    venue_order_id=str(report.venue_order_id),
                ),
                self._venue_actor,
                cause,
            )
        elif isinstance(report, Rejected):
            self._record(
                stream,
                OrderRejected(order_id=order.order_id, reason=report.reason),
                self._venue_actor,
                cause,
            )
            self._close(order)
        elif isinstance(report, Filled):
            self._on_fill(order, report)
        elif isinstance(report, Canceled):
            self._record(
                stream,
                OrderCanceled(
                    order_id=order.order_id, reason=report.reason, filled_quantity=order.filled
                ),
                self._venue_actor,
                cause,
            )
            self._close(order)
        elif isinstance(report, Expired):
            self._record(
                stream,
                OrderExpired(order_id=order.order_id, filled_quantity=order.filled),
                self._venue_actor,
                cause,
            )
            self._close(order)

    def _on_fill(self, order: OpenOrder, report: Filled) -> None:
        now = self.market_us
        self.counters.fills += 1
        self.book.apply_fill(
            order.symbol, order.side, report.quantity, report.price, fee=report.fee, time_us=now
        )
        notional = report.quantity * report.price
        self.traded_notional += notional
        if order.unit_cost:
            self.reserved -= report.quantity * order.unit_cost
        order.filled += report.quantity
        order.notional += notional
        stream = order_stream(order.order_id)
        fields: dict[str, Any] = {
            "fill_id": f"{self.spec.run_id}-f{self.counters.fills}",
            "order_id": order.order_id,
            "account": self.spec.account,
            "strategy": order.strategy,
            "symbol": order.symbol,
            "side": order.side,
            "price": report.price,
            "quantity": report.quantity,
            "fee": report.fee,
            "fee_currency": report.fee_currency,
            "liquidity": report.liquidity,
            "venue": self._venue.name,
            "venue_order_id": report.venue_order_id,
            "venue_fill_id": report.venue_fill_id,
        }
        # A report of plain valid values (the simulated venue's always are) is not validated
        # again; anything else a venue adapter hands over goes through the catalog's checks.
        fill = (
            _trusted(FillRecorded, **fields)
            if _plain_fill(report)
            else FillRecorded.model_validate(fields)
        )
        fill_event = self._record(stream, fill, self._venue_actor, order.submitted_event_id)
        average = (order.notional / order.filled).quantize(Decimal("0.00000001"))
        if report.leaves > 0:
            self._record(
                stream,
                _trusted(
                    OrderPartiallyFilled,
                    order_id=order.order_id,
                    filled_quantity=order.filled,
                    leaves_quantity=report.leaves,
                    average_price=average,
                ),
                self._venue_actor,
                fill_event,
            )
        else:
            self._record(
                stream,
                _trusted(
                    OrderFilled,
                    order_id=order.order_id,
                    filled_quantity=order.filled,
                    average_price=average,
                ),
                self._venue_actor,
                fill_event,
            )
            self._close(order)
        try:
            self._strategy.on_fill(
                StrategyFill(
                    order.order_id,
                    order.symbol,
                    order.side,
                    report.price,
                    report.quantity,
                    report.fee,
                    now,
                )
            )
        except StrategyFailedError:
            raise
        except Exception as error:
            raise StrategyFailedError("on_fill", error) from error

    def _close(self, order: OpenOrder) -> None:
        """The order is done: it leaves the open orders and releases the cash it reserved."""
        del self.orders[order.order_id]
        if order.unit_cost:
            self.reserved -= order.leaves * order.unit_cost
        if not self.orders:
            self.reserved = ZERO  # no rounding residue outlives the orders

    def _cancel_all(self, reason: str, cause: str | None, requested_by: str) -> None:
        for order_id in list(self.orders):
            order = self.orders[order_id]
            request = self._record(
                order_stream(order_id),
                OrderCancelRequested(order_id=order_id, reason=reason, requested_by=requested_by),
                self._system_actor,
                cause or order.submitted_event_id,
            )
            for report in self._venue.cancel(order_id, reason):
                self._on_report(report, request)

    # --- valuation -------------------------------------------------------------------------

    def _value(self, equity: Decimal) -> None:
        """Record a ``PortfolioValued`` of the book as it is now (``equity`` is its equity)."""
        book = self.book
        valuation = _trusted(
            PortfolioValued,
            run_id=self.spec.run_id,
            account=self.spec.account,
            strategy=self.spec.strategy,
            cash=book.cash,
            positions_value=book.positions_value,
            equity=equity,
            realized_pnl=book.realized,
            unrealized_pnl=book.unrealized,
            fees=book.fees,
            positions=book.open_positions(),
        )
        self.last_valuation = valuation
        self._record(self.run_stream, valuation, self._system_actor)

    # --- helpers ---------------------------------------------------------------------------

    @property
    def curve_times(self) -> list[int]:
        """Close time (UTC µs) of every bar time processed; read-only, do not mutate."""
        return self._curve_times

    @property
    def curve_equity(self) -> list[Decimal]:
        """Equity at each of ``curve_times``; read-only, do not mutate."""
        return self._curve_equity

    @property
    def equity_curve(self) -> list[EquityPoint]:
        """Equity at the close of every bar time processed (a new list on each call)."""
        return list(map(EquityPoint, self._curve_times, self._curve_equity))

    @property
    def venue_name(self) -> str:
        return self._venue.name

    def venue_open_orders(self) -> list[str]:
        return self._venue.open_order_ids()

    def record_fact(self, payload: DomainEvent, *, cause: str | None = None) -> None:
        """Record a system fact about the run (reconciliation after a restart, an operator
        request it could not apply) and flush."""
        self._record(self.run_stream, payload, self._system_actor, cause)
        self.journal.flush()

    @property
    def trades(self) -> list[ClosedTrade]:
        return self.book.trades

    def _operator(self, name: str) -> Actor:
        return Actor(ActorKind.OPERATOR, name, self.spec.account)

    def _record(
        self, stream: str, payload: DomainEvent, actor: Actor, cause: str | None = None
    ) -> str:
        return self.journal.record(
            stream, payload, time_us=self.clock.now_us(), actor=actor, causation_id=cause
        )


class _Context:
    """The strategy's window on the engine: its book, the clock and the order API, no venue."""

    __slots__ = ("_engine",)

    def __init__(self, engine: TradingEngine) -> None:
        self._engine = engine

    @property
    def now_us(self) -> int:
        return self._engine.market_us

    @property
    def cash(self) -> Decimal:
        return self._engine.book.cash

    @property
    def equity(self) -> Decimal:
        return self._engine.book.equity

    def position(self, symbol: str) -> Decimal:
        return self._engine.book.position(symbol)

    def pending_quantity(self, symbol: str) -> Decimal:
        return self._engine.pending_quantity(symbol)

    def submit_order(
        self,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        order_type: OrderType = OrderType.MARKET,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reason: str = "",
    ) -> OrderTicket:
        return self._engine.submit(
            symbol,
            side,
            quantity,
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            reason=reason,
        )

    def cancel_order(self, order_id: str, *, reason: str = "") -> None:
        self._engine.cancel_order(
            order_id, reason=reason or "strategy request", requested_by=self._engine.spec.strategy
        )
