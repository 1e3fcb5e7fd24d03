"""Exact value types shared by every event: prices, quantities and money are Decimals.

Binary floats, NaN and infinities are refused at the edge so nothing inexact is ever recorded,
and so is any decimal a read model cannot hold (``domain.values``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from domain.values import STORED


def _float_via_shortest_repr(value: Any) -> Any:
    """Read a float as the decimal a person typed: 0.1 -> Decimal("0.1"), not 0.1000…0055."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _finite(value: Decimal) -> Decimal:
    """Finite, and what every read model can hold (``domain.values.STORED``)."""
    if not value.is_finite():
        raise ValueError(f"must be a finite decimal, got {value}")
    return STORED.check(value)


def _utc_microseconds(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (UTC)")
    return value.astimezone(UTC)


ExactDecimal = Annotated[
    Decimal, BeforeValidator(_float_via_shortest_repr), AfterValidator(_finite)
]
Price = Annotated[ExactDecimal, Field(gt=0)]
Quantity = Annotated[ExactDecimal, Field(gt=0)]
NonNegativeQuantity = Annotated[ExactDecimal, Field(ge=0)]
Money = ExactDecimal
PositiveMoney = Annotated[ExactDecimal, Field(gt=0)]
NonNegativeMoney = Annotated[ExactDecimal, Field(ge=0)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc_microseconds)]


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(StrEnum):
    GTC = "GTC"
    DAY = "DAY"
    IOC = "IOC"


class Liquidity(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class TradingState(StrEnum):
    """NautilusTrader's trading states: REDUCING admits only orders that shrink a position."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class CancelOrigin(StrEnum):
    """Why a cancel was requested: recovery and reports read this, not the free-text reason."""

    STRATEGY = "strategy"
    OPERATOR = "operator"
    KILL_SWITCH = "kill_switch"
    RUN_STOPPED = "run_stopped"
    RUN_FAILED = "run_failed"


class VenueReportKind(StrEnum):
    """What a venue reported about an order."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"


class RunMode(StrEnum):
    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class ActorKind(StrEnum):
    OPERATOR = "operator"
    STRATEGY = "strategy"
    SYSTEM = "system"
    VENUE = "venue"
