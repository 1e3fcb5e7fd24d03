"""The order path's cost and its proof of sameness: one ``sma_cross`` backtest into SQLite
(through the writer process, as ``lh backtest`` runs it), timed in CPU seconds of the engine's
process, with a digest of every stored event and of the trades.

The event digest is the SHA-256 of the ``stored_events`` rows (``originator_id``,
``originator_version``, ``topic``, the state's text) in rowid order with
``"recorded_time_us":N`` taken out (the one field that records when, not what): two runs of
the same bars and rules that digest alike recorded the same bytes. A change to the engine's
order path must keep it (docs/performance.md gives main's figure). Prints ONE JSON object.

``--isolated N`` times the order path alone instead, without bars, strategy or store: N
market orders (alternately bought and sold, each filled at the next bar) through the order
manager, the risk engine, the book, the simulated venue and the journal, every row serialized
and pickled as the writer process sink does; CPU microseconds per order, the minimum and the
median of ``--repeat`` rounds (the minimum is the figure least moved by other load).

    PYTHONPATH=. .venv/bin/python -m benchmarks.order_path --bars 200000
    PYTHONPATH=. .venv/bin/python -m benchmarks.order_path --bars 200000 --repeat 3
    PYTHONPATH=. .venv/bin/python -m benchmarks.order_path --isolated 4000 --repeat 7
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
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


class _PickledSink:
    """What a ``WriterProcessSink`` does in the engine's process: rows, pickled."""

    def append(self, events: Sequence[Any]) -> None:
        from domain.events.codec import serialized_row

        pickle.dumps(list(map(serialized_row, events)), pickle.HIGHEST_PROTOCOL)


def isolated_once(orders: int) -> float:
    """CPU microseconds per market order through the order path alone."""
    from adapters.venue.simulated import SimulatedVenue
    from domain.engine.journal import Journal
    from domain.engine.orders import EngineCounters, OrderManager
    from domain.engine.ports import SimulatedClock
    from domain.engine.recorder import Recorder
    from domain.events.types import OrderType, Side, TimeInForce
    from domain.market import Bar
    from domain.portfolio import Book
    from domain.risk.engine import RiskEngine

    run = "bt-0123456789abcdef"
    bars = []
    for index in range(2 * orders):
        price = Decimal(42_000 + index * 37 % 1_000)
        bars.append(
            Bar(SYMBOL, 1_700_000_000_000_000 + index * 60_000_000, price, price + 5,
                price - 5, price + 1, Decimal("100.5"))
        )  # fmt: skip
    clock = SimulatedClock()
    journal = Journal(run, _PickledSink())
    venue = SimulatedVenue(commission=Decimal("0.001"))
    risk = RiskEngine(run, fee_rate=Decimal("0.001"))
    manager = OrderManager(
        run_id=run,
        run_stream=f"run-{run}",
        venue=venue,
        risk=risk,
        book=Book("sma_cross", Decimal(10**9)),
        recorder=Recorder(journal, clock, account=run, strategy="sma_cross", venue=venue.name),
        counters=EngineCounters(),
        market_time=clock.now_us,
        on_fill=lambda fill: None,
    )
    one, side = Decimal(1), Side.BUY
    cpu = time.process_time()
    for index in range(orders):
        bar = bars[2 * index]
        clock.observe(bar.time_us)
        risk.update_price(SYMBOL, bar.close)
        venue.on_bar(bar)
        manager.submit(
            bar, None, SYMBOL, side, one, order_type=OrderType.MARKET, limit_price=None,
            stop_price=None, time_in_force=TimeInForce.GTC, reason="fast above slow",
        )  # fmt: skip
        following = bars[2 * index + 1]
        clock.observe(following.time_us)
        for report in venue.on_bar(following):
            manager.on_venue_report(report)
        side = Side.SELL if side is Side.BUY else Side.BUY
        if len(journal.pending) >= 10_000:  # as a backtest flushes (FLUSH_EVENTS)
            journal.flush()
    journal.flush()
    return (time.process_time() - cpu) / orders * 1e6


def isolated(args: argparse.Namespace) -> dict[str, Any]:
    import gc

    gc.disable()  # as a backtest runs (its collector is paused)
    rounds = [isolated_once(args.isolated) for _ in range(max(1, args.repeat))]
    return {
        "orders": args.isolated,
        "load_average": os.getloadavg(),
        "per_order_cpu_us": [round(r, 2) for r in rounds],
        "min_us": round(min(rounds), 2),
        "median_us": round(statistics.median(rounds), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--commission", default="0.001")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--isolated", type=int, default=0, metavar="ORDERS")
    args = parser.parse_args()
    if args.isolated:
        print(json.dumps(isolated(args)))
        return
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
