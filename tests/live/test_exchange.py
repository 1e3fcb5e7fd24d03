"""The local exchange through ccxt's real binance client: markets, time, bars, orders,
trades and balances, signed requests checked like Binance checks them, and fills that follow
the simulated venue's rules exactly."""

from __future__ import annotations

import time
from decimal import Decimal

import ccxt
import httpx
import pytest

from adapters.exchange_local.signing import signature
from adapters.venue.ccxt_client import VenueCredentials
from adapters.venue.simulated import SimulatedVenue
from domain.engine.ports import Filled, VenueOrder
from domain.events.types import OrderType, Side
from tests.live.exchange_support import HISTORY, client, local_exchange, minute_bars, next_bar


def test_public_calls_list_markets_time_and_closed_bars() -> None:
    bars = minute_bars()
    with local_exchange() as running:
        binance = client(running)
        markets = binance.load_markets()
        assert list(markets) == ["BTC/USDT"]
        market = markets["BTC/USDT"]
        assert market["precision"]["price"] == 1.0  # the bars' prices are whole numbers
        assert market["limits"]["amount"]["min"] == 0.00001
        assert market["limits"]["cost"]["min"] == 5.0
        assert abs(binance.fetch_time() - time.time() * 1000) < 5_000
        candles = binance.fetch_ohlcv("BTC/USDT", "1m")
        assert len(candles) == HISTORY + 1  # the closed ones and the one forming
        first = bars[0]
        assert candles[0] == [first.time_us // 1000, 30000.0, 30050.0, 29950.0, 30005.0, 10.0]
        forming = candles[-1]
        assert forming[1] == forming[2] == forming[3] == forming[4] == float(bars[HISTORY].open)
        next_bar(running, 2)
        assert len(binance.fetch_ohlcv("BTC/USDT", "1m")) == HISTORY + 3
        with pytest.raises(ccxt.BadRequest):
            binance.fetch_ohlcv("BTC/USDT", "5m")


def test_orders_fill_like_the_simulated_venue_and_move_balances() -> None:
    bars = minute_bars()
    simulated = SimulatedVenue(name="SIM", fee_currency="USDT")
    for bar in bars[:HISTORY]:
        simulated.on_bar(bar)
    market = VenueOrder("o1", "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))
    limit = VenueOrder(
        "o2", "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal("0.02"), limit_price=Decimal(30010)
    )
    simulated.submit(market)
    simulated.submit(limit)
    expected = [r for bar in bars[HISTORY : HISTORY + 2] for r in simulated.on_bar(bar)]
    with local_exchange() as running:
        binance = client(running)
        placed = binance.create_order(
            "BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "t-o1"}
        )
        assert (placed["clientOrderId"], placed["status"]) == ("t-o1", "open")
        binance.create_order("BTC/USDT", "limit", "buy", 0.02, 30010, {"newClientOrderId": "t-o2"})
        assert {o["clientOrderId"] for o in binance.fetch_open_orders("BTC/USDT")} == {
            "t-o1",
            "t-o2",
        }
        next_bar(running, 2)
        trades = binance.fetch_my_trades("BTC/USDT")
        got = [
            (t["info"]["price"], t["info"]["qty"], t["info"]["commission"], t["info"]["isMaker"])
            for t in trades
        ]
        fills = [r for r in expected if isinstance(r, Filled)]
        assert [(Decimal(p), Decimal(q), Decimal(c), m) for p, q, c, m in got] == [
            (f.price, f.quantity, f.fee, f.liquidity.value == "MAKER") for f in fills
        ]
        assert binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "t-o2"})["status"] == (
            "closed"
        )
        cost = sum(f.price * f.quantity + f.fee for f in fills)
        balance = binance.fetch_balance()
        assert Decimal(str(balance["total"]["BTC"])) == Decimal("0.03")
        assert Decimal(str(balance["total"]["USDT"])) == Decimal(100_000) - cost
        assert binance.fetch_open_orders("BTC/USDT") == []


def test_cancel_lookup_and_refusals() -> None:
    with local_exchange() as running:
        binance = client(running)
        binance.create_order("BTC/USDT", "limit", "buy", 0.01, 20000, {"newClientOrderId": "c1"})
        with pytest.raises(ccxt.InvalidOrder):  # a working order's client id is taken
            binance.create_order(
                "BTC/USDT", "limit", "buy", 0.01, 20000, {"newClientOrderId": "c1"}
            )
        canceled = binance.cancel_order(None, "BTC/USDT", {"origClientOrderId": "c1"})
        assert canceled["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound):
            binance.cancel_order(None, "BTC/USDT", {"origClientOrderId": "c1"})
        with pytest.raises(ccxt.OrderNotFound):
            binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "never-sent"})
        with pytest.raises(ccxt.InsufficientFunds):
            binance.create_order("BTC/USDT", "market", "sell", 1, None, {"newClientOrderId": "s"})
        with pytest.raises(ccxt.InvalidOrder):  # LOT_SIZE: finer than the step
            binance.create_order(
                "BTC/USDT", "limit", "buy", "0.000001", 20000, {"newClientOrderId": "f"}
            )


def test_signed_requests_need_the_key_a_valid_signature_and_a_fresh_timestamp() -> None:
    with local_exchange() as running:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            client(running, VenueCredentials("local-api-key", "wrong")).fetch_balance()
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            client(running, VenueCredentials("wrong", "local-secret")).fetch_balance()
        url = f"{running.url}/api/v3/account"
        headers = {"X-MBX-APIKEY": "local-api-key"}
        stale = f"timestamp={int(time.time() * 1000) - 60_000}&recvWindow=5000"
        answer = httpx.get(
            f"{url}?{stale}&signature={signature(stale, 'local-secret')}", headers=headers
        )
        assert (answer.status_code, answer.json()["code"]) == (400, -1021)
        unsigned = httpx.get(f"{url}?timestamp={int(time.time() * 1000)}", headers=headers)
        assert unsigned.json() == {
            "code": -1102,
            "msg": "Mandatory parameter 'signature' was not sent.",
        }
        fresh = f"timestamp={int(time.time() * 1000)}"
        signed = httpx.get(f"{url}?{fresh}&signature={signature(fresh, 'local-secret')}",
                           headers=headers)  # fmt: skip
        assert signed.status_code == 200
        assert {b["asset"] for b in signed.json()["balances"]} == {"BTC", "USDT"}


def test_stop_orders_trigger_through_their_price() -> None:
    with local_exchange() as running:
        binance = client(running)
        binance.create_order(
            "BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": "st", "stopPrice": 30060}
        )
        next_bar(running, 1)  # bar 5 opens at 30045 and trades up to 30095
        trades = binance.fetch_my_trades("BTC/USDT")
        assert [t["price"] for t in trades] == [30060.0]
