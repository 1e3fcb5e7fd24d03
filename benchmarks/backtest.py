"""Backtest benchmark: our engine (every event recorded in embedded SQLite) vs backtrader.

Both run the same rules on the same synthetic 1-minute bars: SMA cross of close (fast/slow),
long ``size`` when fast > slow starts, flat when it ends, market orders decided on bar t fill
at the open of bar t+1, same commission (default none). Each side runs in its own process so
its peak memory (max RSS) is its own; the parent compares the round trips one by one.
Ours records a ``PortfolioValued`` per ``--valuation-interval`` of bar time (default 1h) and at
the end, through a writer process (its peak memory is reported separately). Also times
``RiskEngine.check`` (p50/p99 µs). Prints ONE JSON object.

    .venv/bin/python -m benchmarks.backtest                 # 1,000,000 bars
    .venv/bin/python -m benchmarks.backtest --bars 100000   # quicker
    .venv/bin/python -m benchmarks.backtest --repeat 3      # both sides 3x, medians reported
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.data import generate, to_table, write_csv

SYMBOL = "BTCUSDT"
CASH = Decimal(1_000_000_000)  # large enough that no order is ever refused for cash

Trip = dict[str, Any]  # entry_us, entry_price, exit_us, exit_price (prices as strings)


def peak_rss_mib() -> float:
    """This process's own peak resident memory since it was exec'd (``VmHWM``). ``getrusage``'s
    ``ru_maxrss`` also counts the pages of the parent it was forked from (Linux carries the
    high-water mark across exec): a benchmark parent holding 1M generated bars made every
    child report at least the parent's ~520 MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- our engine -----------------------------------------------------------------------------


def run_ours(csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from adapters.marketdata import load_bars
    from adapters.venue.simulated import SimulatedVenueConfig
    from api.application.backtest import BacktestConfig, run_backtest
    from infra.eventstore.factory import open_event_store

    started, cpu = time.perf_counter(), time.process_time()
    bars = load_bars(csv, symbol=SYMBOL)
    load_seconds = time.perf_counter() - started
    load_cpu_seconds = time.process_time() - cpu
    rss_after_load = peak_rss_mib()
    store = open_event_store(f"sqlite:///{work / 'events.db'}")
    config = BacktestConfig(
        bars=bars,
        strategy="sma_cross",
        params={"fast": str(args.fast), "slow": str(args.slow), "size": str(args.size)},
        cash=CASH,
        venue=SimulatedVenueConfig(commission=Decimal(args.commission)),
        valuation_interval=args.valuation_interval,
    )
    writer_peak_kib = [0]
    stop_watching = threading.Event()
    watcher = threading.Thread(target=_watch_children_peak, args=(stop_watching, writer_peak_kib))
    watcher.start()
    started, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(config, store)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    stop_watching.set()
    watcher.join()
    head = store.head()
    store.close()
    trips = [
        {
            "entry_us": t.entry_time_us,
            "entry_price": str(t.entry_price),
            "exit_us": t.exit_time_us,
            "exit_price": str(t.exit_price),
            "pnl": str(t.pnl),
        }
        for t in result.trades
    ]
    count = len(bars[SYMBOL])
    return {
        "bars": count,
        "load_seconds": round(load_seconds, 3),
        "load_rows_per_s": round(count / load_seconds),
        "load_cpu_seconds": round(load_cpu_seconds, 3),
        "run_seconds": round(seconds, 3),
        "bars_per_s": round(count / seconds),
        "run_cpu_seconds": round(cpu_seconds, 3),  # this process only (not the writer)
        "events_recorded": result.events,
        "store_head": head,
        "events_db_mib": round((work / "events.db").stat().st_size / 2**20, 1),
        "peak_rss_mib_after_load": round(rss_after_load),
        "peak_rss_mib": round(peak_rss_mib()),
        "writer_peak_rss_mib": round(writer_peak_kib[0] / 1024),
        "final_equity": str(result.final_equity),
        "trips": trips,
    }


def _watch_children_peak(stop: threading.Event, peak_kib: list[int]) -> None:
    """The writer process's own peak memory (``VmHWM``, counted from its exec; ``getrusage``
    would count the parent's pages it was started from), read every 0.2 s until ``stop``."""
    me = os.getpid()
    while not stop.wait(0.2):
        try:
            children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
        except OSError:
            return
        for child in children:
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib[0] = max(peak_kib[0], int(line.split()[1]))


# --- backtrader ------------------------------------------------------------------------------


def run_backtrader(csv: Path, args: argparse.Namespace) -> dict[str, Any]:
    import backtrader as bt
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(csv)
    frame = table.to_pandas()
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_localize(None)
    frame = frame[["open", "high", "low", "close", "volume"]].astype(float)
    rss_after_load = peak_rss_mib()

    class SmaCross(bt.Strategy):  # type: ignore[misc]
        """Our sma_cross rules: act only when ``fast > slow`` changes, target size or flat."""

        params = (("fast", 10), ("slow", 30), ("size", 1.0))

        def __init__(self) -> None:
            self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
            self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
            self.above: bool | None = None
            self.fills: list[tuple[float, bool, float, float]] = []

        def next(self) -> None:
            above = self.fast[0] > self.slow[0]
            previous, self.above = self.above, above
            if previous is None or previous == above:
                return
            self.order_target_size(target=self.p.size if above else 0.0)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                executed = order.executed
                self.fills.append((executed.dt, order.isbuy(), executed.price, executed.size))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
    cerebro.addstrategy(SmaCross, fast=args.fast, slow=args.slow, size=float(args.size))
    cerebro.broker.setcash(float(CASH))
    cerebro.broker.setcommission(commission=float(args.commission))
    cerebro.broker.set_coc(False)  # no cheat-on-close: an order fills at the NEXT bar's open
    cerebro.broker.set_coo(False)
    started, cpu = time.perf_counter(), time.process_time()
    (strategy,) = cerebro.run()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    trips: list[Trip] = []
    entry: tuple[int, float] | None = None
    for when, is_buy, price, _size in strategy.fills:
        moment = bt.num2date(when)
        micros = round(pd.Timestamp(moment, tz="UTC").value / 1_000_000) * 1_000
        if is_buy:
            entry = (micros, price)
        elif entry is not None:
            trips.append(
                {
                    "entry_us": entry[0],
                    "entry_price": repr(entry[1]),
                    "exit_us": micros,
                    "exit_price": repr(price),
                }
            )
            entry = None
    return {
        "bars": len(frame),
        "run_seconds": round(seconds, 3),
        "bars_per_s": round(len(frame) / seconds),
        "run_cpu_seconds": round(cpu_seconds, 3),
        "peak_rss_mib_after_load": round(rss_after_load),
        "peak_rss_mib": round(peak_rss_mib()),
        "final_value": cerebro.broker.getvalue(),
        "trips": trips,
    }


# --- risk check ------------------------------------------------------------------------------


def run_risk(count: int) -> dict[str, Any]:
    from domain.events.catalog import OrderIntent
    from domain.events.types import OrderType, Side
    from domain.risk import RiskEngine, RiskLimits

    # Half the intents sell from a flat position: shorting is allowed so they pass every rule.
    engine = RiskEngine("bench", RiskLimits(max_short_position=Decimal(1_000_000)))
    cash = CASH
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"]
    for index, symbol in enumerate(symbols):
        engine.update_price(symbol, Decimal(40_000) / (index + 1))
    engine.update_equity(Decimal(1_000_000), 0)
    intents = [
        OrderIntent(
            client_order_id=f"c{i}",
            account="bench",
            strategy=f"s{i % 3}",
            symbol=symbols[i % 4],
            side=Side.BUY if i % 2 else Side.SELL,
            quantity=Decimal(1 + i % 7) / 10,
            order_type=OrderType.MARKET,
            reference_price=Decimal(40_000) / (i % 4 + 1),
        )
        for i in range(count)
    ]
    timings = []
    approved = 0
    clock = time.perf_counter_ns
    position = Decimal(0)
    for i, intent in enumerate(intents):
        now_us = i * 50_000  # 20 intents per simulated second
        started = clock()
        verdict = engine.check(intent, now_us=now_us, position=position, cash=cash)
        timings.append(clock() - started)
        approved += verdict.approved
    timings.sort()
    return {
        "intents": count,
        "approved": approved,
        "p50_us": round(timings[count // 2] / 1_000, 2),
        "p99_us": round(timings[int(count * 0.99)] / 1_000, 2),
        "max_us": round(timings[-1] / 1_000, 2),
        "rules": len(
            engine.check(intents[0], now_us=count * 50_000, position=position, cash=cash).outcomes
        ),
    }


# --- comparison and orchestration ------------------------------------------------------------


def compare(ours: list[Trip], theirs: list[Trip]) -> dict[str, Any]:
    """Round trips compared in order: times equal, prices equal as numbers."""

    def key(trip: Trip) -> tuple[int, float, int, float]:
        return (
            int(trip["entry_us"]),
            float(trip["entry_price"]),
            int(trip["exit_us"]),
            float(trip["exit_price"]),
        )

    mismatches = 0
    first: dict[str, Any] | None = None
    for index in range(max(len(ours), len(theirs))):
        a = key(ours[index]) if index < len(ours) else None
        b = key(theirs[index]) if index < len(theirs) else None
        if a != b:
            mismatches += 1
            if first is None:
                first = {"index": index, "ours": a, "backtrader": b}
    return {"identical": mismatches == 0, "mismatches": mismatches, "first_mismatch": first}


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median speed (the first failure, if any run failed)."""
    failed = [result for result in results if "bars_per_s" not in result]
    if failed:
        return failed[0]
    return sorted(results, key=lambda result: result["bars_per_s"])[len(results) // 2]


def child(kind: str, csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one side in a fresh interpreter so its peak memory is its own."""
    command = [
        sys.executable, "-m", "benchmarks.backtest", "--child", kind, "--csv", str(csv),
        "--work", str(work), "--fast", str(args.fast), "--slow", str(args.slow),
        "--size", str(args.size), "--commission", str(args.commission),
        "--risk-intents", str(args.risk_intents),
        "--valuation-interval", args.valuation_interval,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--size", default="1")
    parser.add_argument("--commission", default="0")
    parser.add_argument("--risk-intents", type=int, default=100_000)
    parser.add_argument("--valuation-interval", default="1h", help="ours: PortfolioValued cadence")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run both sides N times, interleaved; report medians"
    )
    parser.add_argument("--child", choices=["ours", "backtrader", "risk"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        work = args.work
        if args.child == "ours":
            result = run_ours(args.csv, work, args)
        elif args.child == "backtrader":
            result = run_backtrader(args.csv, args)
        else:
            result = run_risk(args.risk_intents)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="lh-bench-") as folder:
        work = Path(folder)
        started = time.perf_counter()
        csv = write_csv(to_table(generate(args.bars, seed=args.seed)), work / "bars.csv")
        generate_seconds = time.perf_counter() - started
        runs: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for index in range(max(1, args.repeat)):  # interleaved: both see the same machine
            run_dir = work / f"run-{index}"  # a fresh store each time: nothing already recorded
            run_dir.mkdir()
            runs.append(
                (child("ours", csv, run_dir, args), child("backtrader", csv, run_dir, args))
            )
        risk = child("risk", csv, work, args)
    ours, theirs = _median_run([pair[0] for pair in runs]), _median_run([pair[1] for pair in runs])
    report: dict[str, Any] = {
        "benchmark": "backtest",
        "bars": args.bars,
        "strategy": f"sma_cross fast={args.fast} slow={args.slow} size={args.size}",
        "commission": args.commission,
        "valuation_interval": args.valuation_interval,
        "data": f"synthetic GBM with regimes, 1m bars, seed {args.seed}",
        "generate_seconds": round(generate_seconds, 2),
        "ours": {k: v for k, v in ours.items() if k != "trips"},
        "backtrader": {k: v for k, v in theirs.items() if k != "trips"},
        "risk_check": risk,
    }
    if "trips" in ours and "trips" in theirs:
        report["ours"]["trades"] = len(ours["trips"])
        report["backtrader"]["trades"] = len(theirs["trips"])
        report["speed_ratio"] = round(ours["bars_per_s"] / theirs["bars_per_s"], 2)
        report["trade_agreement"] = compare(ours["trips"], theirs["trips"])
        if len(runs) > 1:
            report["runs"] = [
                {
                    "ours_bars_per_s": mine.get("bars_per_s"),
                    "backtrader_bars_per_s": other.get("bars_per_s"),
                    "speed_ratio": round(mine["bars_per_s"] / other["bars_per_s"], 2)
                    if "bars_per_s" in mine and "bars_per_s" in other
                    else None,
                    "same_trades": "trips" in mine
                    and "trips" in other
                    and compare(mine["trips"], other["trips"])["identical"],
                }
                for mine, other in runs
            ]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
