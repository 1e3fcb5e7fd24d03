"""The order path's cost and its proof of sameness: one ``sma_cross`` backtest into SQLite
(through the writer process, as ``lh backtest`` runs it), timed in CPU seconds of the engine's
process, with a digest of every stored event and of the trades.

The event digest is the SHA-256 of the ``stored_events`` rows (``originator_id``,
``originator_version``, ``topic``, the state's text) in rowid order with
``"recorded_time_us":N`` taken out (the one field that records when, not what): two runs of
the same bars and rules that digest alike recorded the same bytes. A change to the engine's
order path must keep it (docs/performance.md gives main's figure). Prints ONE JSON object.

    PYTHONPATH=. .venv/bin/python -m benchmarks.order_path --bars 200000
    PYTHONPATH=. .venv/bin/python -m benchmarks.order_path --bars 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.backtest import CASH, SYMBOL
from benchmarks.data import generate, to_table, write_csv

_RECORDED_TIME = re.compile(rb',"recorded_time_us":[0-9]+')


def event_digest(database: Path) -> tuple[int, str]:
    """How many events ``database`` holds and the digest of their rows minus recorded times."""
    digest = hashlib.sha256()
    count = 0
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, CAST(state AS TEXT)"
            " FROM stored_events ORDER BY rowid"
        )
        for stream, version, topic, state in rows:
            text = _RECORDED_TIME.sub(b"", state.encode())
            digest.update(f"{stream}|{version}|{topic}|".encode() + text + b"\n")
            count += 1
    return count, digest.hexdigest()


def run_once(csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One backtest into a fresh store under ``work``: CPU seconds, events, digests."""
    from adapters.marketdata import load_bars
    from adapters.venue.simulated import SimulatedVenueConfig
    from api.application.backtest import BacktestConfig, run_backtest
    from infra.eventstore.factory import open_event_store

    bars = load_bars(csv, symbol=SYMBOL)
    database = work / f"events-{time.monotonic_ns()}.db"
    store = open_event_store(f"sqlite:///{database}")
    config = BacktestConfig(
        bars=bars,
        strategy="sma_cross",
        params={"fast": str(args.fast), "slow": str(args.slow), "size": "1"},
        cash=CASH,
        venue=SimulatedVenueConfig(commission=Decimal(args.commission)),
        valuation_interval="1h",
    )
    cpu = time.process_time()
    result = run_backtest(config, store)
    cpu_seconds = time.process_time() - cpu
    store.close()
    count, digest = event_digest(database)
    trades = hashlib.sha256(
        "\n".join(
            f"{t.entry_time_us},{t.entry_price},{t.exit_time_us},{t.exit_price},{t.pnl}"
            for t in result.trades
        ).encode()
    ).hexdigest()
    database.unlink()
    return {
        "run_cpu_seconds": round(cpu_seconds, 3),
        "bars_per_cpu_s": round(len(bars[SYMBOL]) / cpu_seconds),
        "events": count,
        "event_digest": digest,
        "trades": len(result.trades),
        "trades_digest": trades,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--commission", default="0.001")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lh-order-path-") as directory:
        work = Path(directory)
        csv = write_csv(to_table(generate(args.bars, seed=args.seed)), work / "bars.csv")
        runs = [run_once(csv, work, args) for _ in range(max(1, args.repeat))]
    print(
        json.dumps(
            {
                "bars": args.bars,
                "load_average": os.getloadavg(),
                "run_cpu_seconds": [run["run_cpu_seconds"] for run in runs],
                "bars_per_cpu_s": [run["bars_per_cpu_s"] for run in runs],
                **{
                    k: v
                    for k, v in runs[0].items()
                    if k not in ("run_cpu_seconds", "bars_per_cpu_s")
                },
                "same_across_runs": all(
                    run["event_digest"] == runs[0]["event_digest"] for run in runs
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
