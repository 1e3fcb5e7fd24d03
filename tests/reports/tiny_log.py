"""Hand-written logs for the compliance tests: each call records one fact, at a time given in
seconds after ``T0`` (2024-01-01T00:00:00Z), with the envelope the engine would give it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.events.base import DomainEvent
from domain.events.catalog import (
    BarClosed,
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    RiskDecisionMade,
    RiskLimitsChanged,
    RuleOutcome,
    SignalGenerated,
    TradingStateChanged,
)
from domain.events.envelope import Actor, NewEvent
from domain.events.streams import order_stream, run_stream
from domain.events.types import ActorKind, CancelOrigin, Liquidity, OrderType, Side, TradingState
from infra.eventstore.store import EventStore

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T0_US = 1_704_067_200_000_000
ACCOUNT = "A"
STRATEGY = "s"
RUN = run_stream("tiny")


def at(seconds: float) -> datetime:
    return T0 + timedelta(microseconds=round(seconds * 1_000_000))


class TinyLog:
    def __init__(self) -> None:
        self.events: list[NewEvent] = []
        self._versions: Counter[str] = Counter()
        self.strategy = Actor(ActorKind.STRATEGY, STRATEGY, ACCOUNT)
        self.venue = Actor(ActorKind.VENUE, "SIM", ACCOUNT)
        self.system = Actor(ActorKind.SYSTEM, "engine", ACCOUNT)
        self._orders: dict[str, tuple[str, Side, Decimal]] = {}
        self._filled: dict[str, Decimal] = {}
        self._fills = 0

    def record(
        self,
        stream: str,
        payload: DomainEvent,
        seconds: float,
        actor: Actor | None = None,
        cause: str | None = None,
    ) -> str:
        self._versions[stream] += 1
        event_id = f"e{len(self.events) + 1}"
        self.events.append(
            NewEvent(
                stream,
                self._versions[stream],
                payload,
                event_id,
                T0_US + round(seconds * 1_000_000),
                actor or self.strategy,
                cause,
            )
        )
        return event_id

    def write(self, store: EventStore) -> None:
        store.append(self.events)

    # --- market, signals, decisions ----------------------------------------------------

    def bar(
        self, seconds: float, symbol: str, high: str, low: str, close: str, volume: str
    ) -> None:
        price = Decimal(close)
        self.record(
            RUN,
            BarClosed(
                symbol=symbol,
                interval="1m",
                open_time=at(seconds - 60),
                open=price,
                high=Decimal(high),
                low=Decimal(low),
                close=price,
                volume=Decimal(volume),
            ),
            seconds,
            self.system,
        )

    def decide(
        self,
        seconds: float,
        name: str,
        symbol: str,
        side: Side,
        quantity: str,
        bar_close: str,
        reference: str,
        rules: list[RuleOutcome],
        order_type: OrderType = OrderType.MARKET,
    ) -> bool:
        """A signal and its risk decision (``d{name}`` for signal ``s{name}``); approved
        when every rule passed."""
        self.record(
            RUN,
            SignalGenerated(
                signal_id=f"s{name}",
                run_id="tiny",
                strategy=STRATEGY,
                symbol=symbol,
                side=side,
                quantity=Decimal(quantity),
                target_position=Decimal(0),
                reason=f"reason {name}",
                bar_time=at(seconds - 60),
                bar_close=Decimal(bar_close),
            ),
            seconds,
        )
        approved = all(rule["passed"] for rule in rules)
        self.record(
            RUN,
            RiskDecisionMade(
                decision_id=f"d{name}",
                intent=OrderIntent(
                    client_order_id=f"c{name}",
                    account=ACCOUNT,
                    strategy=STRATEGY,
                    symbol=symbol,
                    side=side,
                    quantity=Decimal(quantity),
                    order_type=order_type,
                    limit_price=Decimal(reference) if order_type is OrderType.LIMIT else None,
                    reference_price=Decimal(reference),
                ),
                approved=approved,
                rules=rules,
                signal_id=f"s{name}",
                order_id=f"o{name}" if approved else None,
            ),
            seconds,
        )
        return approved

    # --- orders ------------------------------------------------------------------------

    def submit(
        self,
        seconds: float,
        name: str,
        symbol: str,
        side: Side,
        quantity: str,
        order_type: OrderType = OrderType.MARKET,
        limit: str | None = None,
    ) -> None:
        order_id = f"o{name}"
        self._orders[order_id] = (symbol, side, Decimal(quantity))
        self.record(
            order_stream(order_id),
            OrderSubmitted(
                order_id=order_id,
                client_order_id=f"c{name}",
                account=ACCOUNT,
                strategy=STRATEGY,
                symbol=symbol,
                side=side,
                order_type=order_type,
                quantity=Decimal(quantity),
                limit_price=None if limit is None else Decimal(limit),
                decision_id=f"d{name}",
                venue="SIM",
            ),
            seconds,
        )

    def accept(self, seconds: float, name: str) -> None:
        self.record(
            order_stream(f"o{name}"),
            OrderAccepted(order_id=f"o{name}", venue_order_id=f"V{name}"),
            seconds,
            self.venue,
        )

    def fill(self, seconds: float, name: str, quantity: str, price: str, fee: str) -> None:
        order_id = f"o{name}"
        symbol, side, ordered = self._orders[order_id]
        self._fills += 1
        filled = self._filled[order_id] = self._filled.get(order_id, Decimal(0)) + Decimal(quantity)
        stream = order_stream(order_id)
        self.record(
            stream,
            FillRecorded(
                fill_id=f"f{self._fills}",
                order_id=order_id,
                account=ACCOUNT,
                strategy=STRATEGY,
                symbol=symbol,
                side=side,
                price=Decimal(price),
                quantity=Decimal(quantity),
                fee=Decimal(fee),
                fee_currency="USD",
                liquidity=Liquidity.TAKER,
                venue="SIM",
                venue_order_id=f"V{name}",
                venue_fill_id=f"SIM-f{self._fills}",
            ),
            seconds,
            self.venue,
        )
        if filled < ordered:
            self.record(
                stream,
                OrderPartiallyFilled(
                    order_id=order_id,
                    filled_quantity=filled,
                    leaves_quantity=ordered - filled,
                    average_price=Decimal(price),
                ),
                seconds,
                self.venue,
            )
        else:
            self.record(
                stream,
                OrderFilled(
                    order_id=order_id, filled_quantity=filled, average_price=Decimal(price)
                ),
                seconds,
                self.venue,
            )

    def cancel(
        self, seconds: float, name: str, reason: str, cause: str | None = None, done: bool = True
    ) -> None:
        order_id = f"o{name}"
        stream = order_stream(order_id)
        request = self.record(
            stream,
            OrderCancelRequested(
                order_id=order_id,
                reason=reason,
                requested_by=STRATEGY,
                origin=CancelOrigin.STRATEGY if cause is None else CancelOrigin.KILL_SWITCH,
            ),
            seconds,
            self.strategy if cause is None else self.system,
            cause,
        )
        if done:
            self.record(
                stream,
                OrderCanceled(
                    order_id=order_id,
                    reason=reason,
                    filled_quantity=self._filled.get(order_id, Decimal(0)),
                ),
                seconds,
                self.venue,
                request,
            )

    def venue_reject(self, seconds: float, name: str) -> None:
        self.record(
            order_stream(f"o{name}"),
            OrderRejected(order_id=f"o{name}", reason="venue closed"),
            seconds,
            self.venue,
        )

    # --- controls ----------------------------------------------------------------------

    def operator(self, name: str) -> Actor:
        return Actor(ActorKind.OPERATOR, name, ACCOUNT)

    def limit(self, seconds: float, limit: str, old: str, new: str, who: str, reason: str) -> None:
        self.record(
            RUN,
            RiskLimitsChanged(
                account=ACCOUNT,
                limit=limit,
                old_value=old,
                new_value=new,
                operator=who,
                reason=reason,
            ),
            seconds,
            self.operator(who),
        )

    def kill(self, seconds: float, who: str, reason: str) -> str:
        return self.record(
            RUN,
            KillSwitchEngaged(account=ACCOUNT, operator=who, reason=reason),
            seconds,
            self.operator(who),
        )

    def release(self, seconds: float, who: str, reason: str) -> None:
        self.record(
            RUN,
            KillSwitchReleased(account=ACCOUNT, operator=who, reason=reason),
            seconds,
            self.operator(who),
        )

    def state(self, seconds: float, old: TradingState, new: TradingState, who: str) -> None:
        self.record(
            RUN,
            TradingStateChanged(
                account=ACCOUNT, old_state=old, new_state=new, operator=who, reason="test"
            ),
            seconds,
            self.operator(who),
        )


def rule(name: str, value: str, limit: str, passed: bool = True) -> RuleOutcome:
    return {"rule": name, "passed": passed, "value": value, "limit": limit, "detail": ""}
