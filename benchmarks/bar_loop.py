"""The engine's per-bar cost apart from the orders: ``run_backtest`` of a strategy whose
``on_bar`` does nothing, and of ``sma_cross``, on the same synthetic bars into embedded
SQLite (every event recorded). Prints ONE JSON object.

    .venv/bin/python -m benchmarks.bar_loop                 # 200,000 bars
    .venv/bin/python -m benchmarks.bar_loop --bars 1000000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.marketdata import load_bars
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import BacktestConfig, run_backtest
from benchmarks.data import generate, to_table, write_csv
from domain.market import Bar
from domain.strategy import Strategy
from domain.strategy.registry import register
from infra.eventstore.factory import open_event_store


@register
class IdleStrategy(Strategy):
    """Sees every bar and does nothing: what remains is the engine's own per-bar work."""

    name = "bench_idle"

    def on_bar(self, bar: Bar) -> None:
        return None


def measure(csv: Path, work: Path, strategy: str, params: dict[str, str]) -> dict[str, Any]:
    bars = load_bars(csv, symbol="BTCUSDT")
    store = open_event_store(f"sqlite:///{work / f'{strategy}.db'}")
    config = BacktestConfig(
        bars=bars,
        strategy=strategy,
        params=params,
        cash=Decimal(10**9),
        venue=SimulatedVenueConfig(commission=Decimal("0.001")),
    )
    started, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(config, store)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    count = len(bars["BTCUSDT"])
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_bar": round(cpu / count * 1e6, 2),
        "events": result.events,
        "trades": len(result.trades),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        csv = write_csv(to_table(generate(args.bars, seed=42)), work / "bars.csv")
        report = {
            "benchmark": "bar_loop",
            "bars": args.bars,
            "idle": measure(csv, work, "bench_idle", {}),
            "sma_cross": measure(csv, work, "sma_cross", {"fast": "10", "slow": "30"}),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
