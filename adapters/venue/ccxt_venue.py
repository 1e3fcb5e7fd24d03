"""A live venue on ccxt's unified API: the ``Venue`` and ``LiveVenue`` ports over a real
(or the local) exchange.

- Every order is sent with the client order id ``domain.ids.venue_client_order_id`` derives
  from its order id, so a restart finds it by that id and never sends it twice.
- An order that would break the market's precision or minimums is refused before sending.
- The exchange refusing an order (bad parameters, funds, filters) is a ``Rejected`` naming the
  venue's code; no answer at all (network, timeout, HTTP 5xx, 429) raises
  ``VenueUnavailableError``: the order's fate is unknown until asked for by client id.
- Fills and cancels are polled (``poll``/``on_bar``); a fill reported twice or out of order
  is reported once, in time order. Trades are read from the latest one seen (or a day before
  the first order's placement) in the windows and pages the exchange accepts
  (``ccxt_trades``); a restarted session that has seen no trade reads the most recent page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import ccxt

from adapters.venue.ccxt_client import decimal_safe, make_client, venue_code, venue_message
from adapters.venue.ccxt_config import CcxtVenueConfig, VenueCredentials
from adapters.venue.ccxt_trades import DAY_MS, PAGE_ROWS, trades_since
from domain import ids
from domain.engine.live_ports import (
    VenueBalance,
    VenueFill,
    VenueOrderState,
    VenueOrderStatus,
    VenueRefusedError,
    VenueUnavailableError,
)
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

T = TypeVar("T")
PLACED_LOOKBACK_MS = DAY_MS
"""With no trade seen yet, polls read from this long before the first order's placement: a
trade is stamped no earlier than the bar it filled in opened (the local exchange stamps a
fill with its bar's open time, which may precede the order), and bars are a day at most."""
UNAVAILABLE = (ccxt.NetworkError, ccxt.ExchangeNotAvailable)
"""ccxt's "no answer" errors (timeouts, 5xx, 429, broken connections, clock drift)."""

UNCLEAR = (ccxt.ExchangeError, ccxt.OperationFailed)
"""Exactly these classes (no subclass) without a venue body: the answer was not understood,
so the request's outcome is unknown."""
STATES = {
    "open": VenueOrderState.OPEN,
    "closed": VenueOrderState.FILLED,
    "canceled": VenueOrderState.CANCELED,
    "cancelled": VenueOrderState.CANCELED,
    "rejected": VenueOrderState.REJECTED,
    "expired": VenueOrderState.EXPIRED,
}


@dataclass
class _Tracked:
    order: VenueOrder
    client_order_id: str
    venue_order_id: str = ""
    filled: Decimal = Decimal(0)
    done: bool = False
    canceled: tuple[str, Decimal] | None = None
    """Canceled at our request: the reason and how much the venue said had filled by then
    (``Canceled`` is reported once every one of those fills has been)."""


def decimal(value: object) -> Decimal:
    """ccxt's unified numbers are floats; their shortest text is the exchange's number."""
    return Decimal(str(value)) if value is not None else Decimal(0)


class CcxtVenue:
    """A venue on one ccxt exchange client (``make_client``), for one trading session."""

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: VenueCredentials | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.config = config
        self.name = config.exchange
        self.client = (
            decimal_safe(client) if client is not None else make_client(config, credentials)
        )
        self._tracked: dict[str, _Tracked] = {}
        self._by_venue_id: dict[str, _Tracked] = {}
        self._client_ids: dict[str, str] = {}
        self._seen_fills: set[str] = set()
        self._since_ms: dict[str, int] = {}
        self._last_price: dict[str, Decimal] = {}
        self._undelivered: list[VenueReport] = []

    # --- the Venue port ---------------------------------------------------------------

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        """Send ``order``; raises ``VenueUnavailableError`` when its fate is unknown."""
        symbol = self._symbol(order.symbol)
        if symbol is None:
            return [Rejected(order.order_id, f"{self.name} lists no market {order.symbol}")]
        refusal = self._refusal(order, symbol)
        if refusal:
            return [Rejected(order.order_id, refusal)]
        client_id = ids.venue_client_order_id(order.order_id)
        tracked = _Tracked(order, client_id)
        self._tracked[order.order_id] = tracked
        params: dict[str, Any] = {"newClientOrderId": client_id}
        kind = "limit" if order.order_type is OrderType.LIMIT else "market"
        if order.order_type is OrderType.STOP:
            params["stopPrice"] = str(order.stop_price)
        if order.time_in_force is TimeInForce.IOC and kind == "limit":
            params["timeInForce"] = "IOC"
        price = str(order.limit_price) if order.limit_price is not None else None
        try:
            placed = self._call(
                lambda: self.client.create_order(
                    symbol, kind, order.side.value.lower(), str(order.quantity), price, params
                )
            )
        except _RefusedError as refused:
            tracked.done = True
            return [Rejected(order.order_id, refused.reason)]
        self._remember(tracked, str(placed["id"]))
        if placed.get("timestamp") is not None:
            self._since_ms.setdefault(symbol, int(placed["timestamp"]) - PLACED_LOOKBACK_MS)
        return [Accepted(order.order_id, tracked.venue_order_id)]

    def cancel(self, order_id: str, reason: str) -> list[VenueReport]:
        tracked = self._tracked.get(order_id)
        if tracked is None or tracked.done or tracked.canceled is not None:
            return []
        symbol = self._symbol(tracked.order.symbol)
        try:
            answer = self._call(
                lambda: self.client.cancel_order(
                    None, symbol, {"origClientOrderId": tracked.client_order_id}
                )
            )
        except _RefusedError as refused:
            if not refused.invalid_order:
                raise refused.unavailable() from None
            # Already filled, canceled or unknown: a poll tells now (a session stopping
            # after this cancel polls no more, and the fill must reach the log).
        else:
            tracked.canceled = (reason, decimal(answer.get("filled")))
        try:
            return list(self.poll())  # fills made before the cancel first, then Canceled
        except VenueUnavailableError:
            return []  # they come with a later poll

    def on_bar(self, bar: Bar) -> Sequence[VenueReport]:
        """A bar closed: remember its price (market-order minimums) and poll for reports."""
        self._last_price[bar.symbol] = bar.close
        return self.poll()

    def open_order_ids(self) -> list[str]:
        return [
            self._order_id(status.client_order_id) for status in self.open_orders(self._symbols())
        ]

    # --- the LiveVenue port -----------------------------------------------------------

    def server_time_us(self) -> int:
        return int(self._call(self.client.fetch_time)) * 1000

    def order_by_client_id(self, client_order_id: str, symbol: str) -> VenueOrderStatus | None:
        market = self._symbol(symbol)
        if market is None:
            return None
        try:
            found = self._call(
                lambda: self.client.fetch_order(
                    None, market, {"origClientOrderId": client_order_id}
                )
            )
        except _RefusedError as refused:
            if refused.not_found:
                return None
            raise refused.unavailable() from None
        return self._status(found, symbol)

    def open_orders(self, symbols: Sequence[str]) -> list[VenueOrderStatus]:
        statuses: list[VenueOrderStatus] = []
        for symbol in dict.fromkeys(symbols):
            market = self._symbol(symbol)
            if market is None:
                continue
            found = self._call(partial(self.client.fetch_open_orders, market))
            statuses.extend(self._status(item, symbol) for item in found)
        return statuses

    def fills_since(self, since_us: int, symbols: Sequence[str]) -> list[VenueFill]:
        fills: dict[str, VenueFill] = {}
        for symbol in dict.fromkeys(symbols):
            market = self._symbol(symbol)
            if market is None:
                continue
            trades = self._trades(market, since_us // 1000)
            for trade in trades:
                if int(trade["timestamp"]) * 1000 >= since_us:
                    fills[str(trade["id"])] = self._venue_fill(trade, symbol, market)
            if trades:  # polls read on from here
                self._since_ms[market] = max(int(trade["timestamp"]) for trade in trades)
        return sorted(fills.values(), key=lambda fill: (fill.time_us, fill.venue_fill_id))

    def balances(self) -> list[VenueBalance]:
        answer = self._call(self.client.fetch_balance)
        totals, frees = answer.get("total") or {}, answer.get("free") or {}
        return [
            VenueBalance(currency, decimal(total), decimal(frees.get(currency)))
            for currency, total in sorted(totals.items())
            if total is not None
        ]

    def poll(self) -> Sequence[VenueReport]:
        """Fills (each once, in time order) and cancels or expiries of the working orders.

        A report is kept until a poll returns: when the venue stops answering halfway
        (``VenueUnavailableError``), what was learned before comes with the next poll."""
        working = [tracked for tracked in self._tracked.values() if not tracked.done]
        for symbol in dict.fromkeys(tracked.order.symbol for tracked in working):
            market = self._symbol(symbol)
            assert market is not None
            self._resolve_uncertain(symbol)
            trades = self._trades(market, self._since_ms.get(market))
            for trade in trades:
                self._new_fill(trade)
            if trades:
                self._since_ms[market] = max(int(trade["timestamp"]) for trade in trades)
            self._closed_elsewhere(symbol, market)
            self._report_cancels(symbol)
        reports, self._undelivered = self._undelivered, []
        return reports

    # --- restarts -----------------------------------------------------------------------

    def track(
        self, order: VenueOrder, *, filled: Decimal = Decimal(0), venue_order_id: str = ""
    ) -> None:
        """Work ``order`` (sent by an earlier process, per the log) as if sent by this one:
        its fills and cancels are then reported by ``poll``."""
        tracked = _Tracked(order, ids.venue_client_order_id(order.order_id), filled=filled)
        self._tracked[order.order_id] = tracked
        self._client_ids[tracked.client_order_id] = order.order_id
        if venue_order_id:
            self._remember(tracked, venue_order_id)

    def forget(self, order_id: str) -> None:
        """The session decided the venue never received ``order_id``: it is no longer
        looked up by client id."""
        tracked = self._tracked.get(order_id)
        if tracked is not None and not tracked.venue_order_id:
            tracked.done = True

    def mark_fills_seen(self, venue_fill_ids: Sequence[str]) -> None:
        """Fills the log already holds: ``poll`` will not report them again."""
        self._seen_fills.update(venue_fill_ids)

    # --- helpers --------------------------------------------------------------------------

    def _call(self, request: Callable[[], T]) -> T:
        try:
            return request()
        except UNAVAILABLE as error:
            raise VenueUnavailableError(
                f"{self.name} did not answer: {type(error).__name__}",
                code=type(error).__name__,
            ) from None
        except ccxt.BaseError as error:
            if type(error) in UNCLEAR and "{" not in str(error):
                raise VenueUnavailableError(
                    f"{self.name} gave no answer it could read", code=type(error).__name__
                ) from None
            code = venue_code(self.client, error)
            reason = f"{self.name} refused ({code}): {venue_message(error)}"
            raise _RefusedError(reason, error, venue=self.name, code=code) from None

    def _markets(self) -> dict[str, Any]:
        markets = self.client.markets
        if not markets:
            try:
                markets = self._call(self.client.load_markets)
            except _RefusedError as refused:
                raise refused.unavailable() from None
        return dict(markets)

    def _symbol(self, symbol: str) -> str | None:
        """ccxt's symbol (``BTC/USDT``) for ours (``BTCUSDT`` or ``BTC/USDT``)."""
        markets = self._markets()
        if symbol in markets:
            return symbol
        by_id = self.client.markets_by_id or {}
        found = by_id.get(symbol)
        if found:
            return str(found[0]["symbol"])
        return None

    def _refusal(self, order: VenueOrder, symbol: str) -> str:
        """Why ``order`` breaks the market's rules (checked before sending), or ``""``."""
        if order.quantity <= 0:
            return "quantity must be positive"
        if order.time_in_force is TimeInForce.DAY:
            return f"{self.name} offers no DAY time in force"
        market = self._markets()[symbol]
        if order.order_type is OrderType.STOP and not _offers_stops(market):
            return f"{self.name} offers no stop orders on {symbol}"
        limits = market.get("limits") or {}
        try:
            stepped = decimal(self.client.amount_to_precision(symbol, str(order.quantity)))
        except ccxt.BaseError:
            stepped = Decimal(0)
        if stepped != order.quantity:
            step = decimal((market.get("precision") or {}).get("amount"))
            return f"quantity {order.quantity} does not fit {symbol}'s amount step {step}"
        for name, price in (("limit price", order.limit_price), ("stop price", order.stop_price)):
            if price is None:
                continue
            if decimal(self.client.price_to_precision(symbol, str(price))) != price:
                tick = decimal((market.get("precision") or {}).get("price"))
                return f"{name} {price} does not fit {symbol}'s price tick {tick}"
        amount = limits.get("amount") or {}
        if amount.get("min") is not None and order.quantity < decimal(amount["min"]):
            return f"quantity {order.quantity} is below {symbol}'s minimum {decimal(amount['min'])}"
        if amount.get("max") is not None and order.quantity > decimal(amount["max"]):
            return f"quantity {order.quantity} is above {symbol}'s maximum {decimal(amount['max'])}"
        price = order.limit_price or order.stop_price or self._last_price.get(order.symbol)
        cost = limits.get("cost") or {}
        if price is not None and cost.get("min") is not None:
            minimum = decimal(cost["min"])
            if order.quantity * price < minimum:
                return f"notional {order.quantity * price} is below {symbol}'s minimum {minimum}"
        return ""

    def _remember(self, tracked: _Tracked, venue_order_id: str) -> None:
        tracked.venue_order_id = venue_order_id
        self._by_venue_id[venue_order_id] = tracked
        self._client_ids[tracked.client_order_id] = tracked.order.order_id

    def _order_id(self, client_order_id: str) -> str:
        """Our order id for a client id (an order we did not send keeps the client id)."""
        return self._client_ids.get(client_order_id, client_order_id)

    def _trades(self, market: str, since_ms: int | None) -> list[dict[str, Any]]:
        """Every trade at or after ``since_ms``, each once, oldest first (``trades_since``)."""
        rows = PAGE_ROWS.get(self.name, min(PAGE_ROWS.values()))

        def fetch(since: int | None, limit: int, params: dict[str, Any]) -> list[dict[str, Any]]:
            return self._call(partial(self.client.fetch_my_trades, market, since, limit, params))

        return trades_since(fetch, since_ms, rows)

    def _new_fill(self, trade: dict[str, Any]) -> None:
        fill_id = str(trade["id"])
        tracked = self._by_venue_id.get(str(trade["order"]))
        if fill_id in self._seen_fills or tracked is None:
            return
        self._seen_fills.add(fill_id)
        quantity = decimal(trade["amount"])
        tracked.filled += quantity
        leaves = max(tracked.order.quantity - tracked.filled, Decimal(0))
        if leaves == 0:
            tracked.done = True
        fee = trade.get("fee") or {}
        filled = Filled(
            order_id=tracked.order.order_id,
            venue_order_id=tracked.venue_order_id,
            venue_fill_id=fill_id,
            price=decimal(trade["price"]),
            quantity=quantity,
            fee=decimal(fee.get("cost")),
            fee_currency=str(fee.get("currency") or ""),
            liquidity=_liquidity(trade),
            leaves=leaves,
        )
        self._undelivered.append(filled)

    def _resolve_uncertain(self, symbol: str) -> None:
        """Orders whose submission got no answer: asked for by client id, never resent. One
        the venue holds is reported ``Accepted``; one it does not know stays uncertain (the
        session decides, see ``LiveVenue``)."""
        for tracked in list(self._tracked.values()):
            if tracked.done or tracked.venue_order_id or tracked.order.symbol != symbol:
                continue
            status = self.order_by_client_id(tracked.client_order_id, symbol)
            if status is not None:
                self._remember(tracked, status.venue_order_id)
                self._undelivered.append(Accepted(tracked.order.order_id, status.venue_order_id))

    def _closed_elsewhere(self, symbol: str, market: str) -> None:
        """Working orders the venue no longer works though not fully filled: canceled,
        expired, or lost (the venue forgot them)."""
        working = [
            tracked
            for tracked in self._tracked.values()
            if not tracked.done
            and tracked.canceled is None
            and tracked.order.symbol == symbol
            and tracked.venue_order_id
        ]
        if not working:
            return
        open_ids = {
            str(item["clientOrderId"])
            for item in self._call(lambda: self.client.fetch_open_orders(market))
        }
        for tracked in working:
            if tracked.client_order_id in open_ids:
                continue
            status = self.order_by_client_id(tracked.client_order_id, symbol)
            report: VenueReport | None = None
            if status is None:
                report = Canceled(tracked.order.order_id, "the venue no longer knows it")
            elif status.state is VenueOrderState.CANCELED:
                report = Canceled(tracked.order.order_id, "canceled at the venue")
            elif status.state is VenueOrderState.EXPIRED:
                report = Expired(tracked.order.order_id)
            if report is not None:
                tracked.done = True
                self._undelivered.append(report)

    def _report_cancels(self, symbol: str) -> None:
        """``Canceled`` for the orders we canceled whose earlier fills are all reported."""
        for tracked in self._tracked.values():
            if tracked.done or tracked.canceled is None or tracked.order.symbol != symbol:
                continue
            reason, filled = tracked.canceled
            if tracked.filled >= filled:
                tracked.done = True
                self._undelivered.append(Canceled(tracked.order.order_id, reason))

    def _status(self, found: dict[str, Any], symbol: str) -> VenueOrderStatus:
        kind = str(found.get("type") or "market").upper()
        stop = found.get("triggerPrice") or found.get("stopPrice")
        return VenueOrderStatus(
            client_order_id=str(found.get("clientOrderId") or ""),
            venue_order_id=str(found["id"]),
            symbol=symbol,
            side=Side(str(found["side"]).upper()),
            order_type=OrderType.STOP
            if stop
            else OrderType(kind if kind in ("MARKET", "LIMIT") else "MARKET"),
            quantity=decimal(found.get("amount")),
            filled_quantity=decimal(found.get("filled")),
            state=STATES.get(str(found.get("status")), VenueOrderState.OPEN),
            limit_price=decimal(found["price"]) if kind == "LIMIT" and found.get("price") else None,
        )

    def _venue_fill(self, trade: dict[str, Any], symbol: str, market: str) -> VenueFill:
        venue_order_id = str(trade["order"])
        fee = trade.get("fee") or {}
        return VenueFill(
            client_order_id=self._client_id_of(venue_order_id, market),
            venue_order_id=venue_order_id,
            venue_fill_id=str(trade["id"]),
            symbol=symbol,
            side=Side(str(trade["side"]).upper()),
            price=decimal(trade["price"]),
            quantity=decimal(trade["amount"]),
            fee=decimal(fee.get("cost")),
            fee_currency=str(fee.get("currency") or ""),
            liquidity=_liquidity(trade),
            time_us=int(trade["timestamp"]) * 1000,
        )

    def _client_id_of(self, venue_order_id: str, market: str) -> str:
        tracked = self._by_venue_id.get(venue_order_id)
        if tracked is not None:
            return tracked.client_order_id
        found = self._call(lambda: self.client.fetch_order(venue_order_id, market))
        return str(found.get("clientOrderId") or "")

    def _symbols(self) -> list[str]:
        return list(
            dict.fromkeys([*self.config.symbols, *(t.order.symbol for t in self._tracked.values())])
        )


class _RefusedError(VenueRefusedError):
    """The venue answered no; ``reason`` names its code and message. The adapter turns the
    refusals it understands (an order the venue does not know, an invalid order) into
    reports; any other escapes as the public ``VenueRefusedError``."""

    def __init__(self, reason: str, error: Exception, *, venue: str, code: str) -> None:
        super().__init__(reason, venue=venue, code=code)
        self.reason = reason
        self.not_found = isinstance(error, ccxt.OrderNotFound)
        self.invalid_order = isinstance(error, ccxt.InvalidOrder)

    def unavailable(self) -> VenueUnavailableError:
        """The refusal as an unknown outcome (a lookup that failed is no "not found")."""
        return VenueUnavailableError(self.reason, code="refused")


def _liquidity(trade: dict[str, Any]) -> Liquidity:
    return Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER


def _offers_stops(market: dict[str, Any]) -> bool:
    types = (market.get("info") or {}).get("orderTypes")
    return not isinstance(types, list) or "STOP_LOSS" in types or "STOP_LOSS_LIMIT" in types
