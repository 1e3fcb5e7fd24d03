"""The pre-trade RiskEngine: every order intent passes every rule, and every change is a fact.

``check`` is the hot path (no pydantic validation, no I/O). Operator commands
(``change_limit``, ``engage_kill_switch``, ``set_trading_state``...) return the event that
records them; the trading engine appends it and acts on it (a kill switch cancels orders).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.events.catalog import (
    KillSwitchEngaged,
    KillSwitchReleased,
    OrderIntent,
    RiskLimitsChanged,
    RuleOutcome,
    TradingStateChanged,
)
from domain.events.types import OrderType, TradingState
from domain.risk.limits import CompiledLimits, LimitValueError, RiskLimits
from domain.risk.rules import ALL_RULES, Counters, OrderFacts, Rule, all_outcomes

ZERO = Decimal(0)
SIX_PLACES = Decimal("0.000001")
SECOND_US = 1_000_000
DAY_US = 86_400_000_000
BPS = Decimal(10_000)
_PRUNE_AT = 10_000  # identical-order memory is pruned past this many keys


class RiskCommandError(ValueError):
    """An operator command that cannot apply (unknown limit, invalid value, no-op state)."""


@dataclass(frozen=True, slots=True)
class RiskCheck:
    """The verdict on one intent: approved only if every outcome passed."""

    approved: bool
    outcomes: tuple[RuleOutcome, ...]
    unit_cost: Decimal = ZERO  # cash a bought unit reserves until it fills (0 for a sale)
    presorted: bool = False  # every outcome's keys are in sorted order (``ALL_RULES``'s are)

    @property
    def failed(self) -> list[str]:
        return [o["rule"] for o in self.outcomes if not o["passed"]]

    def rule_outcomes(self) -> list[RuleOutcome]:
        """The outcomes in rule order, as ``RiskDecisionMade`` records them."""
        return list(self.outcomes)


class RiskEngine:
    """Holds limits, trading state, kill switch and order counters for one account.

    ``fee_rate`` and ``slippage_bps`` are the venue's: a buy's cost, checked against buying
    power, includes the fee and (for orders that take liquidity) the slippage.
    """

    def __init__(
        self,
        account: str,
        limits: RiskLimits | None = None,
        *,
        rules: tuple[Rule, ...] = ALL_RULES,
        fee_rate: Decimal = ZERO,
        slippage_bps: Decimal = ZERO,
    ) -> None:
        self.account = account
        self._maker_factor = 1 + fee_rate
        self._taker_factor = (1 + fee_rate) * (1 + slippage_bps / BPS)
        self.limits = limits or RiskLimits()
        self._compiled = CompiledLimits.of(self.limits)
        self._rules = rules
        self.state = TradingState.ACTIVE
        self.kill_switch_engaged = False
        self.last_prices: dict[str, Decimal] = {}
        self._account_recent: deque[int] = deque()
        self._strategy_recent: dict[str, deque[int]] = {}
        self._day = -1
        self._account_today = 0
        self._strategy_today: dict[str, int] = {}
        self._last_identical: dict[tuple[Any, ...], int] = {}
        self._day_start_equity: Decimal | None = None
        self._peak_equity: Decimal | None = None
        self._equity: Decimal | None = None
        self._daily_loss = ZERO
        self._drawdown = ZERO
        self._daily_loss_text = "0"
        self._drawdown_text = "0.000000"
        self._losses_stale = False

    # --- market and account updates --------------------------------------------------------

    def update_price(self, symbol: str, price: Decimal) -> None:
        self.last_prices[symbol] = price

    def update_equity(self, equity: Decimal, now_us: int) -> None:
        if now_us // DAY_US != self._day:  # (asked every bar a position is open)
            self._roll_day(now_us)
        if self._day_start_equity is None:
            self._day_start_equity = equity
        if self._peak_equity is None or equity > self._peak_equity:
            self._peak_equity = equity
        self._equity = equity
        self._losses_stale = True

    def _measure_losses(self) -> None:
        """Daily loss and drawdown, measured when a check needs them: equity changes every
        bar a position is open, intents arrive far less often."""
        self._losses_stale = False
        equity, start, peak = self._equity, self._day_start_equity, self._peak_equity
        self._daily_loss = start - equity if start is not None and equity is not None else ZERO
        self._drawdown = (peak - equity) / peak if peak and equity is not None else ZERO
        self._daily_loss_text = str(self._daily_loss)
        self._drawdown_text = str(self._drawdown.quantize(SIX_PLACES))

    def _roll_day(self, now_us: int) -> None:
        day = now_us // DAY_US
        if day != self._day:
            self._day = day
            self._account_today = 0
            self._strategy_today.clear()
            self._day_start_equity = self._equity
            self._losses_stale = True

    # --- the hot path ----------------------------------------------------------------------

    def check(
        self,
        intent: OrderIntent,
        *,
        now_us: int,
        position: Decimal,
        cash: Decimal,
        pending: Decimal = ZERO,
        selling: Decimal = ZERO,
        reserved: Decimal = ZERO,
    ) -> RiskCheck:
        """Evaluate every rule for ``intent``; an approved intent counts towards rate limits.

        ``position`` is the strategy's position in the symbol, ``pending`` its working orders'
        signed remaining quantity and ``selling`` what its open sells have left to sell (a sale
        is paid from what is held, not from buys that may never fill), ``cash`` the account's
        cash and ``reserved`` the cash its open buy orders will use (their
        ``RiskCheck.unit_cost`` times what is left of them).
        """
        self._roll_day(now_us)
        if self._losses_stale:
            self._measure_losses()
        signed = intent.quantity if intent.side.sign > 0 else -intent.quantity
        exposure = position + pending
        projected = exposure + signed
        reducing = exposure != 0 and abs(projected) < abs(exposure) and exposure * projected >= 0
        last = self.last_prices.get(intent.symbol)
        if intent.order_type is OrderType.LIMIT:
            price = intent.limit_price
        elif intent.order_type is OrderType.STOP:
            price = intent.stop_price
        else:
            price = intent.reference_price or last
        unit_cost = ZERO
        if signed > 0 and price is not None:
            limit = intent.order_type is OrderType.LIMIT
            factor = self._maker_factor if limit else self._taker_factor
            unit_cost = price * factor
        facts = OrderFacts(
            strategy=intent.strategy,
            symbol=intent.symbol,
            quantity=intent.quantity,
            price=price,
            last_price=last,
            notional=intent.quantity * price if price is not None else None,
            position=position,
            projected=projected,
            reducing=reducing,
            now_us=now_us,
            short=max(selling - position - signed, ZERO) if signed < 0 else ZERO,
            cost=intent.quantity * unit_cost if unit_cost or signed < 0 else None,
            available=cash - reserved,
            reserved=reserved,
        )
        key = (
            intent.strategy,
            intent.symbol,
            intent.side,
            intent.quantity,
            intent.order_type,
            intent.limit_price,
            intent.stop_price,
        )
        strategy_recent = self._strategy_recent.get(intent.strategy)
        if strategy_recent is None:
            strategy_recent = self._strategy_recent[intent.strategy] = deque()
        horizon = now_us - SECOND_US
        for window in (self._account_recent, strategy_recent):
            while window and window[0] <= horizon:
                window.popleft()
        previous = self._last_identical.get(key)
        counters = Counters(
            kill_switch=self.kill_switch_engaged,
            state=self.state,
            account_last_second=len(self._account_recent),
            account_today=self._account_today,
            strategy_last_second=len(strategy_recent),
            strategy_today=self._strategy_today.get(intent.strategy, 0),
            duplicate_age_us=None if previous is None else now_us - previous,
            daily_loss=self._daily_loss,
            drawdown=self._drawdown,
            daily_loss_text=self._daily_loss_text,
            drawdown_text=self._drawdown_text,
        )
        limits = self._compiled
        rules = self._rules
        presorted = rules is ALL_RULES
        if presorted:
            outcomes = all_outcomes(facts, limits, counters)
        else:
            outcomes = tuple([rule(facts, limits, counters) for rule in rules])
        approved = True
        for outcome in outcomes:
            if not outcome["passed"]:
                approved = False
                break
        if approved:
            self._count(intent.strategy, key, now_us, strategy_recent)
        return RiskCheck(approved, outcomes, unit_cost, presorted)

    def note_submitted(self, strategy: str, key: tuple[Any, ...], now_us: int) -> None:
        """Count an order that went to the venue (also used when rebuilding from the log)."""
        self._roll_day(now_us)
        recent = self._strategy_recent.get(strategy)
        if recent is None:
            recent = self._strategy_recent[strategy] = deque()
        self._count(strategy, key, now_us, recent)

    def _count(
        self, strategy: str, key: tuple[Any, ...], now_us: int, strategy_recent: deque[int]
    ) -> None:
        """``note_submitted`` once the day is rolled and the strategy's window is at hand."""
        self._account_recent.append(now_us)
        strategy_recent.append(now_us)
        self._account_today += 1
        self._strategy_today[strategy] = self._strategy_today.get(strategy, 0) + 1
        self._last_identical[key] = now_us
        if len(self._last_identical) > _PRUNE_AT:
            horizon = now_us - self._compiled.duplicate_window_us
            self._last_identical = {k: t for k, t in self._last_identical.items() if t > horizon}

    # --- operator commands -----------------------------------------------------------------

    def change_limit(
        self, name: str, value: str, *, operator: str, reason: str
    ) -> RiskLimitsChanged:
        try:
            updated = self.limits.changed(name, value)
        except LimitValueError as error:
            raise RiskCommandError(str(error)) from None
        event = RiskLimitsChanged(
            account=self.account,
            limit=name,
            old_value=self.limits.value_text(name),
            new_value=updated.value_text(name),
            operator=operator,
            reason=reason,
        )
        self.limits = updated
        self._compiled = CompiledLimits.of(updated)
        return event

    def engage_kill_switch(self, *, operator: str, reason: str) -> KillSwitchEngaged:
        if self.kill_switch_engaged:
            raise RiskCommandError(f"kill switch on {self.account} is already engaged")
        self.kill_switch_engaged = True
        return KillSwitchEngaged(account=self.account, operator=operator, reason=reason)

    def release_kill_switch(self, *, operator: str, reason: str) -> KillSwitchReleased:
        if not self.kill_switch_engaged:
            raise RiskCommandError(f"kill switch on {self.account} is not engaged")
        self.kill_switch_engaged = False
        return KillSwitchReleased(account=self.account, operator=operator, reason=reason)

    def set_trading_state(
        self, state: TradingState, *, operator: str, reason: str
    ) -> TradingStateChanged:
        if state is self.state:
            raise RiskCommandError(f"{self.account} is already {state.value}")
        event = TradingStateChanged(
            account=self.account,
            old_state=self.state,
            new_state=state,
            operator=operator,
            reason=reason,
        )
        self.state = state
        return event
