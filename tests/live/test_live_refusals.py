"""A venue that answers no to a restart's questions (a wrong key): a public
``VenueRefusedError`` naming the venue and its code, one line from ``lh live``; an order the
guard decided was never received is not looked up again."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from adapters.venue.ccxt_config import VenueCredentials
from adapters.venue.ccxt_venue import CcxtVenue
from api.application.live_venue import GuardedVenue
from domain import ids
from domain.engine.live_ports import VenueRefusedError
from domain.engine.ports import Rejected, VenueOrder
from domain.events.types import OrderType, Side
from domain.live.breaker import CircuitBreaker
from tests.live.exchange_support import config, local_exchange, venue
from tests.live.support import ROOT, add_venue_key, run_lh

RUN = "live-0123456789abcdef"


def test_a_refused_restart_question_is_a_public_error_naming_venue_and_code() -> None:
    with local_exchange() as running:
        forged = CcxtVenue(config(running), VenueCredentials("local-api-key", "not-the-secret"))
        forged.client.enableRateLimit = False
        for question in (forged.balances, lambda: forged.open_orders(["BTCUSDT"])):
            with pytest.raises(VenueRefusedError) as refused:
                question()
            assert (refused.value.venue, refused.value.code) == ("binance", "-1022")
            assert "not-the-secret" not in str(refused.value)


def test_lh_live_with_a_wrong_key_fails_in_one_line(tmp_path: Path) -> None:
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "LH_VAR_DIR": str(tmp_path / "var"),
        "LH_MASTER_KEY": Fernet.generate_key().decode(),
        "KEY": "local-api-key",
        "SECRET": "not-the-secret",
    }

    add_venue_key(env)
    with local_exchange() as running:
        result = run_lh(env, "live", "--venue", "binance", "--key", "main",
                        "--venue-url", running.url, "--strategy", "sma_cross",
                        "--symbol", "BTC/USDT", "--timeframe", "1m",
                        "--limit", "max_order_notional=1000", "--limit", "max_position=1",
                        "--limit", "max_daily_loss=100", timeout=120)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "binance refused (-1022)" in line
    assert "not-the-secret" not in line


def test_an_order_never_received_is_not_looked_up_again() -> None:
    with local_exchange() as running:
        live = venue(running)
        live.client.load_markets()
        now = [0.0]
        guard = GuardedVenue(
            live,
            CircuitBreaker(failure_threshold=5, monotonic=lambda: now[0]),
            symbols=["BTCUSDT"],
            on_transition=lambda _: None,
            client_order_id=ids.venue_client_order_id,
            monotonic=lambda: now[0],
            settle_seconds=1,
        )
        order_id = ids.request_ids(RUN, 1).order_id
        sent = VenueOrder(order_id, "BTCUSDT", Side.BUY, OrderType.MARKET, Decimal("0.01"))
        running.exchange.faults.probabilities["http5xx"] = 1.0
        assert guard.submit(sent) == []
        running.exchange.faults.probabilities.clear()
        now[0] = 2.0
        assert guard.poll() == [Rejected(order_id, "the venue never received the order")]
        lookups: list[object] = []
        fetch_order = live.client.fetch_order

        def counted(*args: object, **kwargs: object) -> object:
            lookups.append(args)
            return fetch_order(*args, **kwargs)

        live.client.fetch_order = counted
        guard.poll()
        guard.poll()
        assert lookups == []
