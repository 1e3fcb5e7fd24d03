"""Each fault of the local exchange, observed through ccxt: latency, HTTP 429 and 5xx, a
dropped connection, an order accepted whose answer is lost, fills reported twice or out of
order, and a restart that forgets the open orders. Plus the fault spec's own checks."""

from __future__ import annotations

import time

import ccxt
import pytest

from adapters.exchange_local.faults import FaultSpecError, parse_faults
from tests.live.exchange_support import client, local_exchange, next_bar


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ("http429=1", ccxt.DDoSProtection),
        ("http5xx=1", ccxt.ExchangeNotAvailable),
        ("drop=1", ccxt.NetworkError),
    ],
)
def test_transport_faults_reach_ccxt_as_network_errors(faults: str, error: type[Exception]) -> None:
    with local_exchange(faults) as running:
        with pytest.raises(error):
            client(running).fetch_time()
        assert running.exchange.dice.counts == {faults.split("=", maxsplit=1)[0]: 1}


def test_latency_delays_every_answer() -> None:
    with local_exchange("latency=150ms") as running:
        binance = client(running)
        started = time.monotonic()
        binance.fetch_time()
        assert time.monotonic() - started >= 0.15


def test_a_lost_response_hides_an_order_the_exchange_accepted() -> None:
    with local_exchange("lost_response=1") as running:
        binance = client(running)
        binance.load_markets()
        with pytest.raises(ccxt.NetworkError):
            binance.create_order(
                "BTC/USDT", "limit", "buy", 0.01, 20000, {"newClientOrderId": "lost-1"}
            )
        found = binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "lost-1"})
        assert found["status"] == "open"


def _two_fills(faults: str) -> list[list[int]]:
    with local_exchange(faults) as running:
        binance = client(running)
        for number in (1, 2):
            binance.create_order(
                "BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": f"m{number}"}
            )
            next_bar(running)
        raw = (binance.privateGetMyTrades({"symbol": "BTCUSDT"}) for _ in range(3))
        return [[int(trade["id"]) for trade in answer] for answer in raw]


def test_duplicate_fills_repeat_a_trade_in_the_answer() -> None:
    for answer in _two_fills("duplicate_fills=1"):
        assert len(answer) == 3
        assert set(answer) == {1, 2}


def test_reordered_fills_come_newest_first() -> None:
    """(ccxt's ``fetch_my_trades`` sorts by time again: the raw answer shows the fault.)"""
    assert _two_fills("reorder_fills=1") == [[2, 1]] * 3
    assert _two_fills("") == [[1, 2]] * 3


def test_a_restart_loses_the_open_orders() -> None:
    with local_exchange("restart_lose_open=at:300ms") as running:
        binance = client(running)
        binance.create_order("BTC/USDT", "limit", "buy", 0.01, 20000, {"newClientOrderId": "r1"})
        assert len(binance.fetch_open_orders("BTC/USDT")) == 1
        time.sleep(0.35)
        assert binance.fetch_open_orders("BTC/USDT") == []
        with pytest.raises(ccxt.OrderNotFound):
            binance.fetch_order(None, "BTC/USDT", {"origClientOrderId": "r1"})
        assert running.exchange.restarts == 1
        next_bar(running)
        binance.create_order("BTC/USDT", "limit", "buy", 0.01, 20000, {"newClientOrderId": "r2"})
        time.sleep(0.1)
        assert len(binance.fetch_open_orders("BTC/USDT")) == 1  # at: restarts once


def test_fault_spec_reads_every_kind() -> None:
    spec = parse_faults(
        "latency=50ms,http429=0.05,http5xx=0.05,drop=0.02,lost_response=0.05,"
        "duplicate_fills=0.1,reorder_fills=0.1,restart_lose_open=every:2m,seed=7"
    )
    assert spec.latency_s == 0.05
    assert spec.chance("drop") == 0.02
    assert (spec.restart_after_s, spec.restart_repeats, spec.seed) == (120.0, True, 7)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jitter=1", "unknown fault 'jitter'"),
        ("drop=1.5", "drop: '1.5' is not a probability"),
        ("latency=fast", "latency: 'fast' is not a duration"),
        ("restart_lose_open=30s", "must be at:DURATION or every:DURATION"),
        ("drop", "has no value"),
    ],
)
def test_fault_spec_refuses_what_it_cannot_read(text: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_faults(text)
