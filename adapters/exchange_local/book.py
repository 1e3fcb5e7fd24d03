"""The local exchange's state: orders, executions and balances, worked bar by bar.

Matching is delegated to one ``SimulatedVenue`` per symbol, so an order here fills exactly
as it would in a backtest or paper run: a bar is shown to it once the market clock passes the
bar's close, and an order placed while bar t is forming fills from bar t+1 on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.exchange_local import errors
from adapters.exchange_local.clock import MarketClock
from adapters.exchange_local.errors import ExchangeRefusalError
from adapters.exchange_local.markets import Market
from adapters.venue.simulated import SimulatedVenue
from domain.engine.ports import Expired, Filled, VenueOrder
from domain.events.types import Liquidity, OrderType, Side, TimeInForce

OPEN = "NEW"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
WORKING = (OPEN, PARTIALLY_FILLED)
BUY_RESERVE = Decimal("1.05")
"""Quote reserved per unit of a market or stop buy: the last close plus 5% headroom."""


@dataclass
class ExchangeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    order_type: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    time_ms: int
    status: str = OPEN
    executed: Decimal = Decimal(0)
    quote_executed: Decimal = Decimal(0)
    update_ms: int = 0

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.executed


@dataclass(frozen=True)
class Execution:
    trade_id: int
    order_id: int
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int


@dataclass
class _Listing:
    market: Market
    venue: SimulatedVenue
    shown: int = 0


@dataclass
class OrderRequest:
    symbol: str
    side: Side
    order_type: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    client_order_id: str


@dataclass
class Book:
    """Every order and execution since the exchange started, and the account's balances."""

    markets: dict[str, Market]
    clock: MarketClock
    balances: dict[str, Decimal]
    commission: Decimal = Decimal("0.001")
    volume_cap: Decimal | None = None
    orders: dict[int, ExchangeOrder] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    lost_orders: list[ExchangeOrder] = field(default_factory=list)
    wall_ms: Callable[[], int] | None = None
    _listings: dict[str, _Listing] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for symbol, market in self.markets.items():
            venue = SimulatedVenue(
                name=symbol,
                commission=self.commission,
                volume_cap=self.volume_cap,
                fee_currency=market.quote,
            )
            self._listings[symbol] = _Listing(market, venue)

    def now_ms(self) -> int:
        return self.clock.now_us() // 1000

    def _stamp(self, market_ms: int) -> int:
        return market_ms if self.wall_ms is None else self.wall_ms()

    def stamp_now(self) -> int:
        """The time an order placed or closed now is stamped with."""
        return self._stamp(self.now_ms())

    def market(self, symbol: str) -> Market:
        market = self.markets.get(symbol)
        if market is None:
            raise ExchangeRefusalError(errors.BAD_SYMBOL, "Invalid symbol.")
        return market

    def advance(self) -> None:
        """Show every bar that closed by now to the matching engine, in time order."""
        now = self.clock.now_us()
        for listing in self._listings.values():
            bars, interval = listing.market.bars, listing.market.interval_us
            while listing.shown < len(bars) and bars[listing.shown].time_us + interval <= now:
                bar = bars[listing.shown]
                listing.shown += 1
                for report in listing.venue.on_bar(bar):
                    if isinstance(report, Filled):
                        self._execute(report, self._stamp(bar.time_us // 1000))
                    elif isinstance(report, Expired):
                        self._close(int(report.order_id), "EXPIRED")

    def last_close(self, symbol: str) -> Decimal:
        listing = self._listings[symbol]
        return listing.market.bars[max(listing.shown - 1, 0)].close

    def shown_bars(self, symbol: str) -> int:
        """How many bars of ``symbol`` have closed (the next one is forming)."""
        return self._listings[symbol].shown

    def place(self, request: OrderRequest) -> ExchangeOrder:
        market = self.market(request.symbol)
        self._check_filters(market, request)
        if any(
            order.client_order_id == request.client_order_id and order.status in WORKING
            for order in self.orders.values()
        ):
            raise ExchangeRefusalError(errors.ORDER_REJECTED, "Duplicate order sent.")
        asset, needed = self._reservation(market, request, request.quantity)
        if self.free(asset) < needed:
            raise ExchangeRefusalError(errors.ORDER_REJECTED, errors.INSUFFICIENT_BALANCE)
        order = ExchangeOrder(
            order_id=len(self.orders) + len(self.lost_orders) + 1,
            client_order_id=request.client_order_id,
            symbol=market.symbol,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            stop_price=request.stop_price,
            time_in_force=request.time_in_force,
            time_ms=self.stamp_now(),
        )
        order.update_ms = order.time_ms
        self.orders[order.order_id] = order
        self._listings[market.symbol].venue.submit(_venue_order(order))
        return order

    def cancel(self, order: ExchangeOrder) -> ExchangeOrder:
        if order.status not in WORKING:
            raise ExchangeRefusalError(errors.CANCEL_REJECTED, "Unknown order sent.")
        self._listings[order.symbol].venue.cancel(str(order.order_id), "canceled")
        self._close(order.order_id, "CANCELED")
        return order

    def find(self, symbol: str, order_id: int | None, client_order_id: str | None) -> ExchangeOrder:
        """The order by exchange id, or the latest one with this client id."""
        self.market(symbol)
        for order in reversed(self.orders.values()):
            if order.symbol != symbol:
                continue
            if order.order_id == order_id or (
                order_id is None and order.client_order_id == client_order_id
            ):
                return order
        raise ExchangeRefusalError(errors.NO_SUCH_ORDER, "Order does not exist.")

    def open_orders(self, symbol: str | None) -> list[ExchangeOrder]:
        return [
            order
            for order in self.orders.values()
            if order.status in WORKING and (symbol is None or order.symbol == symbol)
        ]

    def lose_open_orders(self) -> list[ExchangeOrder]:
        """A restart that forgets every working order: they vanish, as if never received."""
        lost = self.open_orders(None)
        for order in lost:
            self._listings[order.symbol].venue.cancel(str(order.order_id), "lost")
            del self.orders[order.order_id]
        self.lost_orders.extend(lost)
        return lost

    def free(self, asset: str) -> Decimal:
        return self.balances.get(asset, Decimal(0)) - self.locked(asset)

    def locked(self, asset: str) -> Decimal:
        total = Decimal(0)
        for order in self.open_orders(None):
            held, amount = self._reservation(self.markets[order.symbol], order, order.leaves)
            if held == asset:
                total += amount
        return total

    def _reservation(
        self, market: Market, order: OrderRequest | ExchangeOrder, quantity: Decimal
    ) -> tuple[str, Decimal]:
        if order.side is Side.SELL:
            return market.base, quantity
        if order.order_type == "LIMIT" and order.price is not None:
            price = order.price
        else:
            price = self.last_close(market.symbol) * BUY_RESERVE
        return market.quote, quantity * price * (1 + self.commission)

    def _check_filters(self, market: Market, request: OrderRequest) -> None:
        quantity = request.quantity
        if (
            quantity < market.min_quantity
            or quantity > market.max_quantity
            or quantity % market.step_size
        ):
            raise ExchangeRefusalError(errors.FILTER_FAILURE, "Filter failure: LOT_SIZE")
        for price in (request.price, request.stop_price):
            if price is not None and (price <= 0 or price % market.tick_size):
                raise ExchangeRefusalError(errors.FILTER_FAILURE, "Filter failure: PRICE_FILTER")
        reference = request.price or request.stop_price or self.last_close(market.symbol)
        if quantity * reference < market.min_notional:
            raise ExchangeRefusalError(errors.FILTER_FAILURE, "Filter failure: NOTIONAL")

    def _execute(self, fill: Filled, time_ms: int) -> None:
        order = self.orders[int(fill.order_id)]
        market = self.markets[order.symbol]
        notional = fill.price * fill.quantity
        order.executed += fill.quantity
        order.quote_executed += notional
        order.status = PARTIALLY_FILLED if order.leaves > 0 else "FILLED"
        order.update_ms = time_ms
        sign = 1 if order.side is Side.BUY else -1
        self._credit(market.base, sign * fill.quantity)
        self._credit(market.quote, -sign * notional - fill.fee)
        self.executions.append(
            Execution(
                trade_id=len(self.executions) + 1,
                order_id=order.order_id,
                symbol=order.symbol,
                side=order.side,
                price=fill.price,
                quantity=fill.quantity,
                commission=fill.fee,
                commission_asset=fill.fee_currency,
                maker=fill.liquidity is Liquidity.MAKER,
                time_ms=time_ms,
            )
        )

    def _credit(self, asset: str, amount: Decimal) -> None:
        self.balances[asset] = self.balances.get(asset, Decimal(0)) + amount

    def _close(self, order_id: int, status: str) -> None:
        order = self.orders.get(order_id)
        if order is not None:
            order.status = status
            order.update_ms = self.stamp_now()


def _venue_order(order: ExchangeOrder) -> VenueOrder:
    kind = {"MARKET": OrderType.MARKET, "LIMIT": OrderType.LIMIT}.get(
        order.order_type, OrderType.STOP
    )
    return VenueOrder(
        order_id=str(order.order_id),
        symbol=order.symbol,
        side=order.side,
        order_type=kind,
        quantity=order.quantity,
        limit_price=order.price if kind is OrderType.LIMIT else None,
        stop_price=order.stop_price,
        time_in_force=TimeInForce.IOC if order.time_in_force == "IOC" else TimeInForce.GTC,
    )
