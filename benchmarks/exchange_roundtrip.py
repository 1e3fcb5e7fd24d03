"""The ccxt venue against the local exchange: how long one order takes on the wire.

    python -m benchmarks.exchange_roundtrip --orders 300

Serves the local exchange in this process (standing still, over the bundled sample's bars),
then times, per order, ``CcxtVenue.submit`` of a resting limit order (signing, HTTP, the
exchange's checks, the answer parsed by ccxt) and ``poll`` (myTrades + openOrders), and
``cancel``. ccxt's rate limiter is off (it would time its own sleeps). Prints one JSON object
with p50/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from decimal import Decimal

from adapters.exchange_local.defaults import DEFAULT_API_KEY, DEFAULT_SECRET
from adapters.exchange_local.server import (
    ExchangeOptions,
    build_exchange,
    running_exchange,
)
from adapters.venue.ccxt_client import make_client
from adapters.venue.ccxt_config import CcxtVenueConfig, VenueCredentials
from adapters.venue.ccxt_venue import CcxtVenue
from domain.engine.ports import VenueOrder
from domain.events.types import OrderType, Side


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    exchange = build_exchange(ExchangeOptions(speed=0))
    timings: dict[str, list[float]] = {"submit": [], "poll": [], "cancel": []}
    with running_exchange(exchange) as running:
        config = CcxtVenueConfig(url=running.url, symbols=("BTCUSDT",))
        client = make_client(config, VenueCredentials(DEFAULT_API_KEY, DEFAULT_SECRET))
        client.enableRateLimit = False
        venue = CcxtVenue(config, client=client)
        venue.server_time_us()
        for number in range(1, args.orders + 1):
            order = VenueOrder(f"bench-o{number}", "BTCUSDT", Side.BUY, OrderType.LIMIT,
                               Decimal("0.01"), limit_price=Decimal(20000))  # fmt: skip
            for name, call in (
                ("submit", lambda order=order: venue.submit(order)),
                ("poll", venue.poll),
                ("cancel", lambda order=order: venue.cancel(order.order_id, "bench")),
            ):
                started = time.perf_counter()
                call()
                timings[name].append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "benchmark": "exchange_roundtrip",
                "orders": args.orders,
                "python": platform.python_version(),
                **{name: _percentiles(samples) for name, samples in timings.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
