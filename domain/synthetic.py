"""A deterministic synthetic trading log, for read-model tests and benchmarks.

It walks prices at random (seeded), and for every bar emits a realistic chain of facts:
bar -> signal -> risk decision -> order lifecycle -> fills -> portfolio valuation, with the
occasional rejection, partial fill, cancel, limit change and kill switch. It is synthetic
data, not market data; the trading core produces real logs from backtests.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from domain.accounting import LotQueue
from domain.events.base import DomainEvent
from domain.events.catalog import (
    AccountFunded,
    BarClosed,
    FillRecorded,
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderIntent,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    PortfolioValued,
    RiskDecisionMade,
    RiskLimitsChanged,
    RuleOutcome,
    SignalGenerated,
    StrategyRunStarted,
    StrategyRunStopped,
)
from domain.events.envelope import Actor, NewEvent, from_microseconds
from domain.events.streams import (
    account_stream,
    market_stream,
    order_stream,
    risk_stream,
    run_stream,
)
from domain.events.types import ActorKind, Liquidity, OrderType, RunMode, Side

CENT = Decimal("0.01")
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
MINUTE_US = 60_000_000


@dataclass
class _Book:
    """Cash, fees and FIFO lots per symbol: the one accounting rule (``domain.accounting``)."""

    cash: Decimal
    fees: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    positions: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    lots: dict[str, LotQueue] = field(default_factory=lambda: defaultdict(LotQueue))


@dataclass
class SyntheticLog:
    """Generates ``NewEvent`` batches; iterate ``batches()`` and append each batch."""

    seed: int = 7
    account: str = "acct-1"
    strategies: tuple[str, ...] = ("sma_cross", "momentum")
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    run_prefix: str = "synthetic"
    initial_cash: Decimal = Decimal(1_000_000)
    _versions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _sequence: int = 0

    def batches(self, bars: int) -> Iterator[list[NewEvent]]:
        """One batch per simulated minute (plus a first and a last batch)."""
        rng = random.Random(self.seed)
        prices = {symbol: Decimal(100 + 900 * index) for index, symbol in enumerate(self.symbols)}
        books = {
            strategy: _Book(self.initial_cash / len(self.strategies))
            for strategy in self.strategies
        }
        runs = {strategy: f"{self.run_prefix}-{strategy}" for strategy in self.strategies}
        operator = Actor(ActorKind.OPERATOR, "ops@lianghua", self.account)
        first: list[NewEvent] = [
            self._event(
                account_stream(self.account),
                AccountFunded(account=self.account, currency="USD", amount=self.initial_cash),
                START_US,
                operator,
            ),
        ]
        for strategy in self.strategies:
            first.append(
                self._event(
                    run_stream(runs[strategy]),
                    StrategyRunStarted(
                        run_id=runs[strategy],
                        strategy=strategy,
                        params={"fast": "10", "slow": "30"},
                        symbols=list(self.symbols),
                        mode=RunMode.BACKTEST,
                        account=self.account,
                        initial_cash=books[strategy].cash,
                        config_hash="0" * 64,
                    ),
                    START_US,
                    operator,
                )
            )
        yield first
        for step in range(bars):
            now = START_US + (step + 1) * MINUTE_US
            batch: list[NewEvent] = []
            for symbol in self.symbols:
                move = Decimal(rng.randint(-50, 50)) / Decimal(1000)
                prices[symbol] = max(CENT, (prices[symbol] * (1 + move / 10)).quantize(CENT))
                price = prices[symbol]
                bar = self._event(
                    market_stream(symbol, "1m"),
                    BarClosed(
                        symbol=symbol,
                        interval="1m",
                        open_time=from_microseconds(now - MINUTE_US),
                        open=price,
                        high=price + CENT,
                        low=max(CENT, price - CENT),
                        close=price,
                        volume=Decimal(rng.randint(1, 500)),
                    ),
                    now,
                )
                batch.append(bar)
                strategy = self.strategies[rng.randrange(len(self.strategies))]
                batch.extend(
                    self._order_chain(
                        rng,
                        strategy,
                        runs[strategy],
                        books[strategy],
                        symbol=symbol,
                        price=price,
                        now=now,
                        bar=bar,
                    )
                )
            if step % 10 == 9:
                for strategy in self.strategies:
                    batch.append(
                        self._valuation(runs[strategy], strategy, books[strategy], prices, now)
                    )
            if step % 500 == 250:
                batch.extend(self._control_events(step, now, operator))
            yield batch
        last = [
            self._event(
                run_stream(runs[strategy]),
                StrategyRunStopped(
                    run_id=runs[strategy],
                    reason="data exhausted",
                    final_equity=self._equity(books[strategy], prices),
                ),
                START_US + (bars + 1) * MINUTE_US,
            )
            for strategy in self.strategies
        ]
        yield last

    def _order_chain(
        self,
        rng: random.Random,
        strategy: str,
        run_id: str,
        book: _Book,
        *,
        symbol: str,
        price: Decimal,
        now: int,
        bar: NewEvent,
    ) -> list[NewEvent]:
        position = book.positions[symbol]
        side = Side.SELL if position > 0 and rng.random() < 0.5 else Side.BUY
        quantity = Decimal(rng.randint(1, 20)) / Decimal(10)
        if side is Side.SELL:
            quantity = min(quantity, position)
        strategy_actor = Actor(ActorKind.STRATEGY, strategy, self.account)
        self._sequence += 1
        key = f"{run_id}-{self._sequence}"
        signal = self._event(
            run_stream(run_id),
            SignalGenerated(
                signal_id=f"sig-{key}",
                run_id=run_id,
                strategy=strategy,
                symbol=symbol,
                side=side,
                quantity=quantity,
                target_position=position + side.sign * quantity,
                reason="synthetic",
                bar_time=from_microseconds(bar.event_time_us - MINUTE_US),
                bar_close=price,
            ),
            now,
            strategy_actor,
            causation=bar,
        )
        approved = rng.random() > 0.05
        intent = OrderIntent(
            client_order_id=f"cl-{key}",
            account=self.account,
            strategy=strategy,
            symbol=symbol,
            side=side,
            quantity=quantity,
            order_type=OrderType.MARKET,
            reference_price=price,
        )
        notional = quantity * price
        decision = self._event(
            risk_stream(self.account),
            RiskDecisionMade(
                decision_id=f"dec-{key}",
                intent=intent,
                approved=approved,
                signal_id=f"sig-{key}",
                order_id=f"ord-{key}" if approved else None,
                rules=[
                    RuleOutcome(
                        rule="max_order_quantity",
                        passed=True,
                        value=str(quantity),
                        limit="100",
                        detail="",
                    ),
                    RuleOutcome(
                        rule="max_order_notional",
                        passed=approved,
                        value=str(notional),
                        limit="250000" if approved else str(notional - 1),
                        detail="",
                    ),
                ],
            ),
            now,
            strategy_actor,
            causation=signal,
        )
        chain = [signal, decision]
        if not approved:
            return chain
        order_id = f"ord-{key}"
        stream = order_stream(order_id)
        chain.append(
            self._event(
                stream,
                OrderSubmitted(
                    order_id=order_id,
                    client_order_id=f"cl-{key}",
                    account=self.account,
                    strategy=strategy,
                    symbol=symbol,
                    side=side,
                    order_type=OrderType.MARKET,
                    quantity=quantity,
                    decision_id=f"dec-{key}",
                    venue="SIM",
                ),
                now,
                strategy_actor,
                causation=decision,
            )
        )
        fate = rng.random()
        venue = Actor(ActorKind.VENUE, "SIM", self.account)
        if fate < 0.03:
            chain.append(
                self._event(
                    stream,
                    OrderRejected(order_id=order_id, reason="venue busy"),
                    now + 1_000,
                    venue,
                    causation=chain[-1],
                )
            )
            return chain
        chain.append(
            self._event(
                stream,
                OrderAccepted(order_id=order_id, venue_order_id=f"v-{key}"),
                now + 1_000,
                venue,
                causation=chain[-1],
            )
        )
        slip = Decimal(rng.randint(-5, 5)) * CENT
        fill_price = max(CENT, price + slip)
        partial = fate < 0.10 and quantity > Decimal("0.1")
        filled = (quantity / 2).quantize(Decimal("0.1")) if partial else quantity
        fee = (filled * fill_price * Decimal("0.001")).quantize(Decimal("0.00000001"))
        latency = rng.randint(2_000, 80_000)
        chain.append(
            self._event(
                stream,
                FillRecorded(
                    fill_id=f"fill-{key}",
                    order_id=order_id,
                    account=self.account,
                    strategy=strategy,
                    symbol=symbol,
                    side=side,
                    price=fill_price,
                    quantity=filled,
                    fee=fee,
                    fee_currency="USD",
                    liquidity=Liquidity.TAKER,
                    venue="SIM",
                    venue_order_id=f"v-{key}",
                    venue_fill_id=f"vf-{key}",
                ),
                now + latency,
                venue,
                causation=chain[-1],
            )
        )
        self._book_fill(book, symbol, side, quantity=filled, price=fill_price, fee=fee)
        if partial:
            chain.append(
                self._event(
                    stream,
                    OrderPartiallyFilled(
                        order_id=order_id,
                        filled_quantity=filled,
                        leaves_quantity=quantity - filled,
                        average_price=fill_price,
                    ),
                    now + latency,
                    venue,
                    causation=chain[-1],
                )
            )
            chain.append(
                self._event(
                    stream,
                    OrderCanceled(order_id=order_id, reason="end of bar", filled_quantity=filled),
                    now + latency + 1_000,
                    venue,
                    causation=chain[-1],
                )
            )
        else:
            chain.append(
                self._event(
                    stream,
                    OrderFilled(
                        order_id=order_id, filled_quantity=filled, average_price=fill_price
                    ),
                    now + latency,
                    venue,
                    causation=chain[-1],
                )
            )
        return chain

    @staticmethod
    def _book_fill(
        book: _Book, symbol: str, side: Side, *, quantity: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        book.realized += book.lots[symbol].fill(side.sign * quantity, price)
        book.positions[symbol] += side.sign * quantity
        book.cash -= side.sign * quantity * price + fee
        book.fees += fee

    def _equity(self, book: _Book, prices: dict[str, Decimal]) -> Decimal:
        return book.cash + sum((q * prices[s] for s, q in book.positions.items()), Decimal(0))

    def _valuation(
        self, run_id: str, strategy: str, book: _Book, prices: dict[str, Decimal], now: int
    ) -> NewEvent:
        value = sum((q * prices[s] for s, q in book.positions.items()), Decimal(0))
        unrealized = value - sum((lots.cost for lots in book.lots.values()), Decimal(0))
        return self._event(
            run_stream(run_id),
            PortfolioValued(
                run_id=run_id,
                account=self.account,
                strategy=strategy,
                cash=book.cash,
                positions_value=value,
                equity=book.cash + value,
                realized_pnl=book.realized,
                unrealized_pnl=unrealized,
                fees=book.fees,
                positions={s: q for s, q in book.positions.items() if q},
            ),
            now,
        )

    def _control_events(self, step: int, now: int, operator: Actor) -> list[NewEvent]:
        stream = risk_stream(self.account)
        return [
            self._event(
                stream,
                RiskLimitsChanged(
                    account=self.account,
                    limit="max_order_notional",
                    old_value="250000",
                    new_value="250000",
                    operator=operator.name,
                    reason=f"review at step {step}",
                ),
                now,
                operator,
            ),
            self._event(
                stream,
                KillSwitchEngaged(account=self.account, operator=operator.name, reason="drill"),
                now,
                operator,
            ),
            self._event(
                stream,
                KillSwitchReleased(
                    account=self.account, operator=operator.name, reason="drill over"
                ),
                now,
                operator,
            ),
        ]

    def _event(
        self,
        stream_id: str,
        payload: DomainEvent,
        time_us: int,
        actor: Actor | None = None,
        causation: NewEvent | None = None,
    ) -> NewEvent:
        self._versions[stream_id] += 1
        version = self._versions[stream_id]
        return NewEvent(
            stream_id=stream_id,
            stream_version=version,
            payload=payload,
            event_id=f"{self.run_prefix}:{stream_id}:{version}",
            event_time_us=time_us,
            actor=actor or Actor(ActorKind.SYSTEM, "synthetic"),
            causation_id=causation.event_id if causation else None,
            correlation_id=f"{self.run_prefix}-corr",
        )
