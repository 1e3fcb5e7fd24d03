"""A simulated venue with a simple, explicit fill model over bars.

- A market order submitted during bar t fills at the open of bar t+1 (plus slippage).
- A limit order fills when a later bar trades through its price: at the limit, or at the
  open when the bar gaps through it (a better price). Limit fills are MAKER, no slippage.
- A stop order triggers when a later bar trades through its stop: at the stop, or at the
  open on a gap, plus slippage (TAKER).
- Fees are ``commission`` x notional; slippage is ``slippage_bps`` against the taker.
- With ``volume_cap``, the orders of one bar together take at most that fraction of the bar's
  volume; the rest keeps working on the following bars (partial fills).
- DAY orders expire at the first bar of a later UTC day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain import ids
from domain.engine.ports import (
    Accepted,
    Canceled,
    Expired,
    Filled,
    Rejected,
    VenueOrder,
    VenueReport,
)
from domain.events.types import Liquidity, OrderType, Side, TimeInForce
from domain.market import Bar

EIGHT_PLACES = Decimal("0.00000001")
BPS = Decimal(10_000)
DAY_US = 86_400_000_000


@dataclass
class _Working:
    order: VenueOrder
    venue_order_id: str
    after_us: int
    filled: Decimal = Decimal(0)

    @property
    def leaves(self) -> Decimal:
        return self.order.quantity - self.filled


class SimulatedVenueConfig(BaseModel):
    """Which simulated venue runs a backtest or paper run: its costs and its fill capacity.

    Frozen and apart from the run's own config, so a run names what it is (data, strategy,
    cash, limits) separately from where it trades; the bounds a run may record are checked by
    ``api.application.runs.check_values``. Set from ``--commission``, ``--slippage-bps``,
    ``--volume-cap`` or the ``[venue.sim]`` table of the config file.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sim"] = "sim"
    """The venue registry's name for this venue (``adapters.venue.registry``)."""
    commission: Decimal = Decimal("0.001")
    """Fee, a fraction of notional."""
    slippage_bps: Decimal = Decimal(0)
    """Price moved against every taker fill, in basis points."""
    volume_cap: Decimal | None = None
    """The largest fraction of a bar's volume the orders of one bar may take (None: all)."""


class SimulatedVenue:
    """Fills orders against the bars it is shown; deterministic ids ``SIM-o1``, ``SIM-f1``."""

    def __init__(
        self,
        *,
        name: str = "SIM",
        commission: Decimal = Decimal("0.001"),
        slippage_bps: Decimal = Decimal(0),
        volume_cap: Decimal | None = None,
        fee_currency: str = "USD",
    ) -> None:
        if commission < 0 or slippage_bps < 0:
            raise ValueError("commission and slippage must not be negative")
        if volume_cap is not None and not Decimal(0) < volume_cap <= 1:
            raise ValueError(f"volume cap must be in (0, 1], got {volume_cap}")
        self.name = name
        self.commission = commission
        self.slippage = slippage_bps / BPS
        self.volume_cap = volume_cap
        self.fee_currency = fee_currency
        self._working: dict[str, _Working] = {}
        self._last_bar_us: dict[str, int] = {}
        self._orders = 0
        self._fills = 0

    @classmethod
    def from_config(cls, config: SimulatedVenueConfig) -> SimulatedVenue:
        return cls(
            commission=config.commission,
            slippage_bps=config.slippage_bps,
            volume_cap=config.volume_cap,
        )

    def open_order_ids(self) -> list[str]:
        return list(self._working)

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        reason = self._invalid(order)
        if reason:
            return [Rejected(order.order_id, reason)]
        self._orders += 1
        venue_order_id = ids.venue_order_id(self.name, self._orders)
        after = self._last_bar_us.get(order.symbol, -1)
        self._working[order.order_id] = _Working(order, venue_order_id, after)
        return [Accepted(order.order_id, venue_order_id)]

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        if self._working.pop(order_id, None) is None:
            return []
        return [Canceled(order_id, reason)]

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        self._last_bar_us[bar.symbol] = bar.time_us
        if not self._working:
            return ()
        reports: list[VenueReport] = []
        capacity = self.volume_cap * bar.volume if self.volume_cap is not None else None
        for order_id, working in list(self._working.items()):
            order = working.order
            if order.symbol != bar.symbol or bar.time_us <= working.after_us:
                continue
            if order.time_in_force is TimeInForce.DAY and (
                bar.time_us // DAY_US != max(working.after_us, 0) // DAY_US
            ):
                del self._working[order_id]
                reports.append(Expired(order_id))
                continue
            priced = self._execution_price(order, bar)
            if priced is None:
                continue
            price, liquidity = priced
            quantity = working.leaves
            if capacity is not None:
                quantity = min(quantity, capacity).quantize(EIGHT_PLACES, ROUND_DOWN)
                if quantity <= 0:
                    continue
                capacity -= quantity
            reports.append(self._fill(working, price, quantity, liquidity))
            if working.leaves == 0:
                del self._working[order_id]
        return reports

    def _fill(
        self, working: _Working, price: Decimal, quantity: Decimal, liquidity: Liquidity
    ) -> Filled:
        self._fills += 1
        working.filled += quantity
        fee = (price * quantity * self.commission).quantize(EIGHT_PLACES, ROUND_HALF_UP)
        return Filled(
            order_id=working.order.order_id,
            venue_order_id=working.venue_order_id,
            venue_fill_id=ids.venue_fill_id(self.name, self._fills),
            price=price,
            quantity=quantity,
            fee=fee,
            fee_currency=self.fee_currency,
            liquidity=liquidity,
            leaves=working.leaves,
        )

    def _execution_price(self, order: VenueOrder, bar: Bar) -> tuple[Decimal, Liquidity] | None:
        buy = order.side is Side.BUY
        if order.order_type is OrderType.MARKET:
            return self._slipped(bar.open, buy), Liquidity.TAKER
        if order.order_type is OrderType.LIMIT:
            limit = order.limit_price
            assert limit is not None
            if buy:
                if bar.open <= limit:
                    return bar.open, Liquidity.TAKER
                return (limit, Liquidity.MAKER) if bar.low <= limit else None
            if bar.open >= limit:
                return bar.open, Liquidity.TAKER
            return (limit, Liquidity.MAKER) if bar.high >= limit else None
        stop = order.stop_price
        assert stop is not None
        if buy:
            if bar.open >= stop:
                return self._slipped(bar.open, buy), Liquidity.TAKER
            return (self._slipped(stop, buy), Liquidity.TAKER) if bar.high >= stop else None
        if bar.open <= stop:
            return self._slipped(bar.open, buy), Liquidity.TAKER
        return (self._slipped(stop, buy), Liquidity.TAKER) if bar.low <= stop else None

    def _slipped(self, price: Decimal, buy: bool) -> Decimal:
        if not self.slippage:
            return price
        factor = 1 + self.slippage if buy else 1 - self.slippage
        return (price * factor).quantize(EIGHT_PLACES, ROUND_HALF_UP)

    @staticmethod
    def _invalid(order: VenueOrder) -> str:
        if order.quantity <= 0:
            return "quantity must be positive"
        if order.order_type is OrderType.LIMIT and order.limit_price is None:
            return "limit order without a limit price"
        if order.order_type is OrderType.STOP and order.stop_price is None:
            return "stop order without a stop price"
        return ""
