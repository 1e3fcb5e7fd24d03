"""Risk limits: a validated model with safe defaults, compiled to plain values for the hot path.

``None`` disables a loss limit (its outcome is still recorded, with limit "none").
Quantities and money are bounded like every value that enters the log (``domain.values``);
counts fit a signed 64-bit integer.
Limits change only through ``RiskEngine.change_limit``, which records ``RiskLimitsChanged``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.values import BoundedMoney, BoundedQuantity, BoundedRatio

MAX_COUNT = 2**63


def limit_input(name: str, text: str) -> Any:
    """A limit's command-line text as the model takes it: ``restricted_symbols`` is
    comma-separated, ``none`` clears a limit; one reading for ``--limit``, the ``[risk]``
    overrides and ``lh ctl limit``."""
    if name == "restricted_symbols":
        return frozenset(symbol.strip() for symbol in text.split(",") if symbol.strip())
    return None if text.strip().lower() == "none" else text


class LimitValueError(ValueError):
    """A limit name that does not exist or a value outside the limit's bounds."""


class RiskLimits(BaseModel):
    """Per-account pre-trade limits. Quantities and money in units of the instrument / account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_quantity: BoundedQuantity = Field(
        default=Decimal(1_000_000),
        gt=0,
        description="largest quantity of one order, in units of the instrument",
    )
    max_order_notional: BoundedMoney = Field(
        default=Decimal(10_000_000),
        gt=0,
        description="largest notional of one order (quantity x limit, stop or last price)",
    )
    max_position: BoundedQuantity = Field(
        default=Decimal(1_000_000),
        gt=0,
        description="largest absolute position per strategy and symbol after the order, working "
        "orders included; an order that reduces the position always passes",
    )
    price_collar: BoundedRatio = Field(
        default=Decimal("0.10"),
        gt=0,
        description="largest deviation of an order's price from the last price (0.10 = 10%)",
    )
    max_orders_per_second: int = Field(
        default=100,
        gt=0,
        lt=MAX_COUNT,
        description="orders the account may send in any one second",
    )
    max_orders_per_day: int = Field(
        default=100_000,
        gt=0,
        lt=MAX_COUNT,
        description="orders the account may send per UTC day",
    )
    max_strategy_orders_per_second: int = Field(
        default=50,
        gt=0,
        lt=MAX_COUNT,
        description="orders one strategy may send in any one second",
    )
    max_strategy_orders_per_day: int = Field(
        default=50_000,
        gt=0,
        lt=MAX_COUNT,
        description="orders one strategy may send per UTC day",
    )
    duplicate_window_us: int = Field(
        default=1_000_000,
        ge=0,
        lt=MAX_COUNT,
        description="an order identical to one sent (strategy, symbol, side, quantity, type, "
        "prices) less than this many microseconds before is refused; 0 turns the guard off",
    )
    max_daily_loss: BoundedMoney | None = Field(
        default=None,
        gt=0,
        description="largest fall of equity since the start of the UTC day, in account currency; "
        "past it only orders that reduce a position pass; none = no limit",
    )
    max_drawdown: BoundedRatio | None = Field(
        default=None,
        gt=0,
        le=1,
        description="largest fall of equity from its peak (0.2 = 20%); past it only orders that "
        "reduce a position pass; none = no limit",
    )
    restricted_symbols: frozenset[str] = Field(
        default=frozenset(),
        description="symbols no order may be sent for (comma-separated on the command line)",
    )
    max_short_position: BoundedQuantity = Field(
        default=Decimal(0),
        ge=0,
        description="largest short position (units) a sale may leave; 0 = no short sales, "
        "a spot account sells only what it holds",
    )

    def changed(self, name: str, value: str) -> RiskLimits:
        """These limits with ``name`` set from its command-line text (``none`` clears a loss
        limit, ``restricted_symbols`` is comma-separated); ``LimitValueError`` if the name is
        unknown or the value out of its bounds. One rule for ``lh ctl limit`` and the engine."""
        if name not in RiskLimits.model_fields:
            known = ", ".join(RiskLimits.model_fields)
            raise LimitValueError(f"unknown risk limit {name!r} (known: {known})")
        try:
            return RiskLimits.model_validate(self.model_dump() | {name: limit_input(name, value)})
        except ValidationError as error:
            message = error.errors()[0]["msg"].removeprefix("Value error, ")
            raise LimitValueError(f"risk limit {name}={value!r} is invalid: {message}") from None

    def value_text(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            return "none"
        if isinstance(value, frozenset):
            return ",".join(sorted(value))
        return str(value)


@dataclass(frozen=True, slots=True)
class CompiledLimits:
    """The same limits as plain attributes and preformatted strings (no pydantic per check)."""

    max_order_quantity: Decimal
    max_order_notional: Decimal
    max_position: Decimal
    price_collar: Decimal
    max_orders_per_second: int
    max_orders_per_day: int
    max_strategy_orders_per_second: int
    max_strategy_orders_per_day: int
    duplicate_window_us: int
    max_daily_loss: Decimal | None
    max_drawdown: Decimal | None
    restricted_symbols: frozenset[str]
    max_short_position: Decimal
    text: dict[str, str]

    @classmethod
    def of(cls, limits: RiskLimits) -> CompiledLimits:
        names = list(RiskLimits.model_fields)
        values = {name: getattr(limits, name) for name in names}
        return cls(**values, text={name: limits.value_text(name) for name in names})
