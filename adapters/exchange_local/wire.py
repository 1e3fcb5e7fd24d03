"""The JSON shapes of Binance's spot API answers, from the local exchange's state."""

from __future__ import annotations

from decimal import Decimal

from adapters.exchange_local.book import Book, ExchangeOrder, Execution
from adapters.exchange_local.markets import Market
from domain.events.types import Side

ORDER_TYPES = ("LIMIT", "MARKET", "STOP_LOSS")


def amount(value: Decimal | None) -> str:
    return f"{value if value is not None else Decimal(0):.8f}"


def symbol_info(market: Market) -> dict[str, object]:
    return {
        "symbol": market.symbol,
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": amount(market.tick_size),
                "maxPrice": "10000000.00000000",
                "tickSize": amount(market.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": amount(market.min_quantity),
                "maxQty": amount(market.max_quantity),
                "stepSize": amount(market.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": amount(market.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(book: Book, server_ms: int) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(market) for market in book.markets.values()],
    }


def order(order: ExchangeOrder) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": amount(order.price),
        "origQty": amount(order.quantity),
        "executedQty": amount(order.executed),
        "cummulativeQuoteQty": amount(order.quote_executed),
        "status": order.status,
        "timeInForce": order.time_in_force,
        "type": order.order_type,
        "side": order.side.value,
        "stopPrice": amount(order.stop_price),
        "icebergQty": amount(None),
        "time": order.time_ms,
        "updateTime": order.update_ms,
        "isWorking": True,
        "workingTime": order.time_ms,
        "origQuoteOrderQty": amount(None),
        "selfTradePreventionMode": "NONE",
    }


def new_order(placed: ExchangeOrder) -> dict[str, object]:
    """The FULL answer to a new order (its fills come later, when bars close)."""
    answer = order(placed)
    answer["transactTime"] = placed.time_ms
    answer["fills"] = []
    return answer


def trade(execution: Execution) -> dict[str, object]:
    return {
        "symbol": execution.symbol,
        "id": execution.trade_id,
        "orderId": execution.order_id,
        "orderListId": -1,
        "price": amount(execution.price),
        "qty": amount(execution.quantity),
        "quoteQty": amount(execution.price * execution.quantity),
        "commission": amount(execution.commission),
        "commissionAsset": execution.commission_asset,
        "time": execution.time_ms,
        "isBuyer": execution.side is Side.BUY,
        "isMaker": execution.maker,
        "isBestMatch": True,
    }


def account(book: Book, server_ms: int) -> dict[str, object]:
    assets = sorted(
        set(book.balances)
        | {m.base for m in book.markets.values()}
        | {m.quote for m in book.markets.values()}
    )
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "updateTime": server_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": amount(book.free(asset)), "locked": amount(book.locked(asset))}
            for asset in assets
        ],
        "permissions": ["SPOT"],
    }
