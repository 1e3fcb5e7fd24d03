"""examples/rsi_strategy.py, the guide's example, trades as docs/strategies.md says it does."""

from __future__ import annotations

import json
from collections import Counter
from itertools import islice
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv"
EXAMPLE = ROOT / "examples/rsi_strategy.py"


def test_rsi_example_enters_on_rsi_and_guards_each_entry_with_a_stop(tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    with SAMPLE.open() as source:
        bars.write_text("".join(islice(source, 4_001)))  # 2,000 bars of each symbol
    result = CliRunner().invoke(
        app,
        ["backtest", "--data", str(bars), "--strategy", f"{EXAMPLE}:RsiReversion", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["trades"], "the example should close round trips"

    store = open_event_store(load_settings().event_store)
    try:
        orders = {
            e.data["order_id"]: e.data for e in store.read_all() if e.event_type == "OrderSubmitted"
        }
        fills = [e.data for e in store.read_all() if e.event_type == "FillRecorded"]
        reasons = [e.data["reason"] for e in store.read_all() if e.event_type == "SignalGenerated"]
    finally:
        store.close()
    kinds = Counter((o["side"], o["order_type"]) for o in orders.values())
    assert kinds[("BUY", "MARKET")] > 0 and kinds[("SELL", "STOP")] > 0, kinds
    filled = {fill["order_id"] for fill in fills}
    entries = [oid for oid, o in orders.items() if o["side"] == "BUY" and oid in filled]
    stops = [o for o in orders.values() if o["order_type"] == "STOP"]
    assert len(stops) == len(entries), "one protective stop per filled entry"
    assert len(stops) == sum(reason.startswith("protective stop") for reason in reasons)
