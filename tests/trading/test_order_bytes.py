"""The order path records the same bytes as before it was made faster.

Fixed backtests (market orders; stops and cancels; partial fills under a volume cap) are
recorded into SQLite, and every stored row (stream, version, type, state minus the one field
that says when it was recorded) is digested. The pinned digests are what the tree before the
order-path rewrite gave: a change to event encoding or to the order path that moves one byte
fails here, and must be a documented, versioned change instead.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest

from adapters.marketdata import load_bars
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import BacktestConfig, run_backtest
from infra.eventstore.factory import open_event_store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv"
EXAMPLE = ROOT / "examples/rsi_strategy.py"
_RECORDED_TIME = re.compile(rb',"recorded_time_us":[0-9]+')

RUNS = {
    "sma_cross": (
        "sma_cross",
        {"fast": "3", "slow": "8", "size": "1"},
        SimulatedVenueConfig(commission=Decimal("0.001"), slippage_bps=Decimal("2")),
    ),
    "rsi_stops": (f"{EXAMPLE}:RsiReversion", {}, SimulatedVenueConfig()),
    "volume_cap": (
        "sma_cross",
        {"fast": "3", "slow": "8", "size": "400"},
        SimulatedVenueConfig(commission=Decimal("0.001"), volume_cap=Decimal("0.5")),
    ),
}

PINNED = {
    "sma_cross": (2589, "21f19f9d2225fc944bc606d54564323096f2b4464e4e34b2b1f41c7cb5602a34"),
    "rsi_stops": (333, "df917a837c6171274aff715a6a5b0c3c3f4911f3efa17d23411d5ab88fe096f9"),
    "volume_cap": (3121, "1fafa6b184e65a144209fef2583e1c98da6a97dd3dcaa8cd9b916898ecced71d"),
}


def stored_digest(database: Path) -> tuple[int, str, dict[str, int]]:
    """How many rows ``database`` stores, their digest and how many of each type."""
    digest = hashlib.sha256()
    kinds: dict[str, int] = {}
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, CAST(state AS TEXT)"
            " FROM stored_events ORDER BY rowid"
        )
        for stream, version, topic, state in rows:
            text = _RECORDED_TIME.sub(b"", state.encode())
            digest.update(f"{stream}|{version}|{topic}|".encode() + text + b"\n")
            kinds[topic] = kinds.get(topic, 0) + 1
    return sum(kinds.values()), digest.hexdigest(), kinds


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_fixed_backtest_records_the_pinned_bytes(name: str, tmp_path: Path) -> None:
    strategy, params, venue = RUNS[name]
    csv = tmp_path / "bars.csv"
    with SAMPLE.open() as source:
        csv.write_text("".join(islice(source, 3_001)))  # 1,500 bars of each symbol
    database = tmp_path / "events.db"
    store = open_event_store(f"sqlite:///{database}")
    try:
        run_backtest(
            BacktestConfig(
                bars=load_bars(csv),
                strategy=strategy,
                params=params,
                venue=venue,
                cash=Decimal(10**7),
            ),
            store,
        )
    finally:
        store.close()
    count, digest, kinds = stored_digest(database)
    assert kinds.get("FillRecorded", 0) > 10, kinds
    assert (count, digest) == PINNED[name]
