"""Pre-trade rules: small pure functions of (order facts, limits, counters) -> RuleOutcome.

Each rule returns the catalog's ``RuleOutcome`` (a typed dict) built afresh, which goes into
``RiskDecisionMade`` as it is: no second form to convert, nothing shared between decisions;
its keys in sorted order, so the decision's canonical bytes need no sort (``presorted``).
``all_outcomes`` is ``ALL_RULES`` fused into one function, the risk engine's hot path (one
call per check instead of two per rule); tests/trading/test_risk_fused.py proves it returns
what the rules return, for any facts, limits and counters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from domain.events.catalog import RuleOutcome
from domain.events.types import TradingState
from domain.risk.limits import CompiledLimits

ZERO = Decimal(0)
_SIX_PLACES = Decimal("0.000001")


@dataclass(slots=True)
class OrderFacts:
    """Everything the rules need about one intent, computed once per check."""

    strategy: str
    symbol: str
    quantity: Decimal
    price: Decimal | None
    last_price: Decimal | None
    notional: Decimal | None
    position: Decimal
    projected: Decimal
    reducing: bool
    now_us: int
    short: Decimal  # the short position a sale could leave (0 for a buy: it never adds one)
    cost: Decimal | None  # cash a buy would use, fees and slippage included (0 for a sale)
    available: Decimal  # cash less what open buy orders have reserved
    reserved: Decimal


@dataclass(slots=True)
class Counters:
    """Counter readings for this check (orders already sent in the window, loss, drawdown)."""

    kill_switch: bool
    state: TradingState
    account_last_second: int
    account_today: int
    strategy_last_second: int
    strategy_today: int
    duplicate_age_us: int | None
    daily_loss: Decimal
    drawdown: Decimal
    daily_loss_text: str
    drawdown_text: str


def _outcome(rule: str, passed: bool, value: str, limit: str, detail: str = "") -> RuleOutcome:
    return {"detail": detail, "limit": limit, "passed": passed, "rule": rule, "value": value}


Rule = Callable[[OrderFacts, CompiledLimits, Counters], RuleOutcome]


def kill_switch(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    if c.kill_switch:
        return _outcome("kill_switch", False, "engaged", "released")
    return _outcome("kill_switch", True, "released", "released")


def trading_state(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    if c.state is TradingState.ACTIVE:
        return _outcome("trading_state", True, "ACTIVE", "ACTIVE|REDUCING")
    if c.state is TradingState.REDUCING:
        detail = "reduces the position" if o.reducing else "would not reduce the position"
        return _outcome("trading_state", o.reducing, "REDUCING", "reducing orders only", detail)
    return _outcome("trading_state", False, c.state.value, "ACTIVE|REDUCING")


def restricted_symbol(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    restricted = o.symbol in lim.restricted_symbols
    return _outcome(
        "restricted_symbol", not restricted, o.symbol, lim.text["restricted_symbols"] or "none"
    )


def max_order_quantity(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    return _outcome(
        "max_order_quantity",
        o.quantity <= lim.max_order_quantity,
        str(o.quantity),
        lim.text["max_order_quantity"],
    )


def max_order_notional(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    if o.notional is None:
        return _outcome(
            "max_order_notional", False, "unknown", lim.text["max_order_notional"], "no price"
        )
    return _outcome(
        "max_order_notional",
        o.notional <= lim.max_order_notional,
        str(o.notional),
        lim.text["max_order_notional"],
    )


def max_position(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    size = abs(o.projected)
    passed = size <= lim.max_position or o.reducing
    return _outcome("max_position", passed, str(size), lim.text["max_position"])


def price_collar(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    if o.last_price is None or o.price is None:
        return _outcome("price_collar", False, "unknown", lim.text["price_collar"], "no last price")
    if o.price == o.last_price:  # market orders priced at the last close: no deviation
        return _outcome("price_collar", True, "0", lim.text["price_collar"])
    deviation = abs(o.price - o.last_price) / o.last_price
    return _outcome(
        "price_collar",
        deviation <= lim.price_collar,
        str(deviation.quantize(_SIX_PLACES)),
        lim.text["price_collar"],
        f"last {o.last_price}",
    )


def orders_per_second(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    count = c.account_last_second + 1
    return _outcome(
        "max_orders_per_second",
        count <= lim.max_orders_per_second,
        str(count),
        lim.text["max_orders_per_second"],
    )


def strategy_orders_per_second(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    count = c.strategy_last_second + 1
    return _outcome(
        "max_strategy_orders_per_second",
        count <= lim.max_strategy_orders_per_second,
        str(count),
        lim.text["max_strategy_orders_per_second"],
    )


def orders_per_day(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    count = c.account_today + 1
    return _outcome(
        "max_orders_per_day",
        count <= lim.max_orders_per_day,
        str(count),
        lim.text["max_orders_per_day"],
    )


def strategy_orders_per_day(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    count = c.strategy_today + 1
    return _outcome(
        "max_strategy_orders_per_day",
        count <= lim.max_strategy_orders_per_day,
        str(count),
        lim.text["max_strategy_orders_per_day"],
    )


def duplicate_order(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    if c.duplicate_age_us is None:
        return _outcome("duplicate_order", True, "none", lim.text["duplicate_window_us"])
    passed = c.duplicate_age_us >= lim.duplicate_window_us
    return _outcome(
        "duplicate_order",
        passed,
        str(c.duplicate_age_us),
        lim.text["duplicate_window_us"],
        "µs since an identical order",
    )


def max_daily_loss(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    limit = lim.max_daily_loss
    passed = limit is None or c.daily_loss <= limit or o.reducing
    return _outcome("max_daily_loss", passed, c.daily_loss_text, lim.text["max_daily_loss"])


def max_drawdown(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    limit = lim.max_drawdown
    passed = limit is None or c.drawdown <= limit or o.reducing
    return _outcome("max_drawdown", passed, c.drawdown_text, lim.text["max_drawdown"])


def buying_power(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    """A buy must be paid from cash not already reserved by open buy orders."""
    available = str(o.available)
    if o.cost is None:
        return _outcome("buying_power", False, "unknown", available, "no price")
    if not o.cost:
        return _outcome("buying_power", True, "0", available, "a sale uses no cash")
    detail = f"cash less {o.reserved} reserved by open orders" if o.reserved else ""
    return _outcome("buying_power", o.cost <= o.available, str(o.cost), available, detail)


def short_sale(o: OrderFacts, lim: CompiledLimits, c: Counters) -> RuleOutcome:
    """Selling more than is held, less what open sells already have to deliver, opens a
    short: only up to the limit (open buys do not count, they may never fill)."""
    passed = o.short <= lim.max_short_position
    return _outcome("short_sale", passed, str(o.short), lim.text["max_short_position"])


ALL_RULES: tuple[Rule, ...] = (
    kill_switch,
    trading_state,
    restricted_symbol,
    max_order_quantity,
    max_order_notional,
    max_position,
    buying_power,
    short_sale,
    price_collar,
    orders_per_second,
    strategy_orders_per_second,
    orders_per_day,
    strategy_orders_per_day,
    duplicate_order,
    max_daily_loss,
    max_drawdown,
)


def all_outcomes(o: OrderFacts, lim: CompiledLimits, c: Counters) -> tuple[RuleOutcome, ...]:
    """``tuple(rule(o, lim, c) for rule in ALL_RULES)`` in one call, rule by rule the same."""
    text = lim.text
    reducing = o.reducing
    state = c.state
    if state is TradingState.ACTIVE:
        trading = _outcome("trading_state", True, "ACTIVE", "ACTIVE|REDUCING")
    elif state is TradingState.REDUCING:
        detail = "reduces the position" if reducing else "would not reduce the position"
        trading = _outcome("trading_state", reducing, "REDUCING", "reducing orders only", detail)
    else:
        trading = _outcome("trading_state", False, state.value, "ACTIVE|REDUCING")
    notional = o.notional
    notional_limit = text["max_order_notional"]
    order_notional: RuleOutcome
    if notional is None:
        order_notional = _outcome(
            "max_order_notional", False, "unknown", notional_limit, "no price"
        )
    else:
        order_notional = {
            "detail": "",
            "limit": notional_limit,
            "passed": notional <= lim.max_order_notional,
            "rule": "max_order_notional",
            "value": str(notional),
        }
    size = abs(o.projected)
    cost = o.cost
    available = str(o.available)
    buying: RuleOutcome
    if cost is None:
        buying = _outcome("buying_power", False, "unknown", available, "no price")
    elif not cost:
        buying = _outcome("buying_power", True, "0", available, "a sale uses no cash")
    else:
        reserved = o.reserved
        buying = {
            "detail": f"cash less {reserved} reserved by open orders" if reserved else "",
            "limit": available,
            "passed": cost <= o.available,
            "rule": "buying_power",
            "value": str(cost),
        }
    last, price = o.last_price, o.price
    collar: RuleOutcome
    if last is not None and price == last:
        collar = {
            "detail": "",
            "limit": text["price_collar"],
            "passed": True,
            "rule": "price_collar",
            "value": "0",
        }
    else:
        collar = price_collar(o, lim, c)
    age = c.duplicate_age_us
    window = text["duplicate_window_us"]
    duplicate: RuleOutcome
    if age is None:
        duplicate = {
            "detail": "",
            "limit": window,
            "passed": True,
            "rule": "duplicate_order",
            "value": "none",
        }
    else:
        duplicate = duplicate_order(o, lim, c)
    account_second = c.account_last_second + 1
    strategy_second = c.strategy_last_second + 1
    account_day = c.account_today + 1
    strategy_day = c.strategy_today + 1
    daily_loss, drawdown = lim.max_daily_loss, lim.max_drawdown
    return (
        {
            "detail": "",
            "limit": "released",
            "passed": not c.kill_switch,
            "rule": "kill_switch",
            "value": "engaged" if c.kill_switch else "released",
        },
        trading,
        {
            "detail": "",
            "limit": text["restricted_symbols"] or "none",
            "passed": o.symbol not in lim.restricted_symbols,
            "rule": "restricted_symbol",
            "value": o.symbol,
        },
        {
            "detail": "",
            "limit": text["max_order_quantity"],
            "passed": o.quantity <= lim.max_order_quantity,
            "rule": "max_order_quantity",
            "value": str(o.quantity),
        },
        order_notional,
        {
            "detail": "",
            "limit": text["max_position"],
            "passed": size <= lim.max_position or reducing,
            "rule": "max_position",
            "value": str(size),
        },
        buying,
        {
            "detail": "",
            "limit": text["max_short_position"],
            "passed": o.short <= lim.max_short_position,
            "rule": "short_sale",
            "value": str(o.short),
        },
        collar,
        {
            "detail": "",
            "limit": text["max_orders_per_second"],
            "passed": account_second <= lim.max_orders_per_second,
            "rule": "max_orders_per_second",
            "value": str(account_second),
        },
        {
            "detail": "",
            "limit": text["max_strategy_orders_per_second"],
            "passed": strategy_second <= lim.max_strategy_orders_per_second,
            "rule": "max_strategy_orders_per_second",
            "value": str(strategy_second),
        },
        {
            "detail": "",
            "limit": text["max_orders_per_day"],
            "passed": account_day <= lim.max_orders_per_day,
            "rule": "max_orders_per_day",
            "value": str(account_day),
        },
        {
            "detail": "",
            "limit": text["max_strategy_orders_per_day"],
            "passed": strategy_day <= lim.max_strategy_orders_per_day,
            "rule": "max_strategy_orders_per_day",
            "value": str(strategy_day),
        },
        duplicate,
        {
            "detail": "",
            "limit": text["max_daily_loss"],
            "passed": daily_loss is None or c.daily_loss <= daily_loss or reducing,
            "rule": "max_daily_loss",
            "value": c.daily_loss_text,
        },
        {
            "detail": "",
            "limit": text["max_drawdown"],
            "passed": drawdown is None or c.drawdown <= drawdown or reducing,
            "rule": "max_drawdown",
            "value": c.drawdown_text,
        },
    )
