"""Peers benchmark: LiangHua against backtrader, backtesting.py, a bare Python loop and, when
installed, vectorbt and NautilusTrader, on the same synthetic bars with the same rules.

Rules (as ``benchmarks.backtest``): SMA cross of close (fast/slow), long ``size`` while
fast > slow, flat when it ends, market orders decided on bar t fill at bar t+1's open, the same
commission. Every engine runs in a fresh process, rounds interleaved (each round runs every
engine once, in turn) so all see the same machine; the report gives medians and ranges, each
engine's trade agreement with LiangHua, peak RSS and the load average. Prints ONE JSON object.
Every process reads compiled bytecode (``cache_bytecode``), as installed packages do.

Two speeds per engine: ``engine`` (its run alone, timed inside the process: LiangHua's
``run_backtest`` with every event recorded, backtrader's ``cerebro.run``, ...) and ``whole``
(bars / wall time of the whole process, interpreter start to exit, loading included;
LiangHua's is the CLI, ``lh backtest --json``, recording into a fresh embedded store, run
by this process itself as each engine's child is). On a shared machine wall time moves with
the other jobs, so each speed is also given per CPU second (``bars_per_cpu_s``: the run's own
process time; ``whole_bars_per_cpu_s``: user + sys of the process and its children, the
writer included, from ``wait4``).

    .venv/bin/python -m benchmarks.peers                      # 1,000,000 bars, 3 rounds
    .venv/bin/python -m benchmarks.peers --bars 200000 --rounds 5 --engines lianghua,bare
    pip install '.[bench]'                                     # the peers (not runtime deps)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks.backtest import CASH, SYMBOL, compare, peak_rss_mib, run_backtrader, run_ours
from benchmarks.data import generate, to_table, write_csv

ENGINES = ("lianghua", "lh-cli", "backtrader", "backtesting", "vectorbt", "nautilus", "bare")
MODULES = {"backtrader": "backtrader", "backtesting": "backtesting", "vectorbt": "vectorbt"}
MODULES["nautilus"] = "nautilus_trader"
PACKAGES = ("api", "domain", "adapters", "infra", "projections", "benchmarks")


# --- the engines, each in its own process ---------------------------------------------------


def run_lianghua(csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``load_bars`` + ``run_backtest`` into embedded SQLite (``benchmarks.backtest``)."""
    result = run_ours(csv, work, args)
    result["peak_rss_mib_all"] = result["peak_rss_mib"] + result["writer_peak_rss_mib"]
    return result


def run_backtesting(csv: Path, args: argparse.Namespace) -> dict[str, Any]:
    """backtesting.py: SMAs by pandas' rolling mean in ``init``, orders at the next open."""
    import pandas as pd  # type: ignore[import-untyped]
    from backtesting import Backtest, Strategy  # type: ignore[import-not-found,unused-ignore]

    frame = _pandas_frame(csv)
    rss_after_load = peak_rss_mib()

    def sma(values: Any, period: int) -> Any:
        return pd.Series(values).rolling(period).mean().to_numpy()

    class SmaCross(Strategy):  # type: ignore[misc]
        fast, slow, size = args.fast, args.slow, int(Decimal(args.size))

        def init(self) -> None:
            self.fast_sma = self.I(sma, self.data.Close, self.fast)
            self.slow_sma = self.I(sma, self.data.Close, self.slow)
            self.above: bool | None = None

        def next(self) -> None:
            above = bool(self.fast_sma[-1] > self.slow_sma[-1])
            previous, self.above = self.above, above
            if previous is None or previous == above:
                return
            if above:
                self.buy(size=self.size)
            else:
                self.position.close()

    test = Backtest(
        frame.rename(columns=str.capitalize),
        SmaCross,
        cash=float(CASH),
        commission=float(args.commission),
        trade_on_close=False,
        finalize_trades=True,
    )
    started, cpu = time.perf_counter(), time.process_time()
    stats = test.run()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    trades = stats["_trades"]
    trips = [
        {
            "entry_us": _micros(row.EntryTime),
            "entry_price": repr(float(row.EntryPrice)),
            "exit_us": _micros(row.ExitTime),
            "exit_price": repr(float(row.ExitPrice)),
        }
        for row in trades.itertuples()
    ]
    return _result(len(frame), seconds, cpu_seconds, rss_after_load, trips)


def run_vectorbt(csv: Path, args: argparse.Namespace) -> dict[str, Any]:
    """vectorbt: signals from the SMA cross, filled at the next bar's open (vectorised); the
    engine time excludes numba's compilation (a first run on 100 bars), the whole time not."""
    import vectorbt as vbt  # type: ignore[import-not-found,unused-ignore]

    frame = _pandas_frame(csv)
    rss_after_load = peak_rss_mib()
    _vectorbt_run(vbt, frame.iloc[:100], args)  # numba compiles on first use: not timed
    started, cpu = time.perf_counter(), time.process_time()
    records = _vectorbt_run(vbt, frame, args)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    trips = [
        {
            "entry_us": _micros(row["Entry Timestamp"]),
            "entry_price": repr(float(row["Avg Entry Price"])),
            "exit_us": _micros(row["Exit Timestamp"]),
            "exit_price": repr(float(row["Avg Exit Price"])),
        }
        for _, row in records.iterrows()
        if row["Status"] == "Closed"
    ]
    return _result(len(frame), seconds, cpu_seconds, rss_after_load, trips)


def _vectorbt_run(vbt: Any, frame: Any, args: argparse.Namespace) -> Any:
    close = frame["close"]
    fast = close.rolling(args.fast).mean()
    slow = close.rolling(args.slow).mean()
    above = (fast > slow) & slow.notna()
    entries = (above & ~above.shift(1, fill_value=False)).shift(1, fill_value=False)
    exits = (~above & above.shift(1, fill_value=False)).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=frame["open"],
        size=float(Decimal(args.size)),
        fees=float(args.commission),
        init_cash=float(CASH),
    )
    return portfolio.trades.records_readable


def run_nautilus(csv: Path, args: argparse.Namespace) -> dict[str, Any]:
    """NautilusTrader: a ``BacktestEngine``, one spot pair on a cash account with the taker fee,
    a Python ``Strategy`` on 1-minute bars stamped at their close (Nautilus' convention), its
    own ``SimpleMovingAverage`` (same crosses as LiangHua's); ``engine.run()`` alone is timed.

    Nautilus fills a market order on arrival at its book's last price, which with
    ``bar_execution`` is bar t's close. So that it fills at bar t+1's open like the others, the
    matching engine gets one trade tick per bar at its open instead, placed just before bar t
    (the same nanosecond when bars are contiguous), and ``bar_execution`` is off.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from nautilus_trader.backtest.engine import BacktestEngine  # type: ignore[import-not-found,unused-ignore]
    from nautilus_trader.config import (  # type: ignore[import-not-found,unused-ignore]
        BacktestEngineConfig,
        LoggingConfig,
        StrategyConfig,
    )
    from nautilus_trader.indicators.averages import (  # type: ignore[import-not-found,unused-ignore]
        SimpleMovingAverage,
    )
    from nautilus_trader.model.currencies import BTC, USDT  # type: ignore[import-not-found,unused-ignore]
    from nautilus_trader.model.data import (  # type: ignore[import-not-found,unused-ignore]
        Bar,
        BarType,
        TradeTick,
    )
    from nautilus_trader.model.enums import (  # type: ignore[import-not-found,unused-ignore]
        AccountType,
        AggressorSide,
        OmsType,
        OrderSide,
    )
    from nautilus_trader.model.identifiers import (  # type: ignore[import-not-found,unused-ignore]
        InstrumentId,
        Symbol,
        TradeId,
        Venue,
    )
    from nautilus_trader.model.instruments import CurrencyPair  # type: ignore[import-not-found,unused-ignore]
    from nautilus_trader.model.objects import Money, Price, Quantity  # type: ignore[import-not-found,unused-ignore]
    from nautilus_trader.trading.strategy import Strategy  # type: ignore[import-not-found,unused-ignore]

    text = pacsv.read_csv(
        csv, convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(
            ("open", "high", "low", "close", "volume"), pa.string()))
    )  # fmt: skip
    price_precision = len(text.column("close")[0].as_py().partition(".")[2])
    size_precision = max(
        len(text.column("volume")[0].as_py().partition(".")[2]),
        -int(Decimal(args.size).normalize().as_tuple().exponent),
    )
    stamps = text.column("timestamp").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    opens_ns = stamps.to_numpy().astype(np.uint64)  # a writable copy
    step = int(opens_ns[1] - opens_ns[0]) if len(opens_ns) > 1 else 60_000_000_000
    closes_ns = opens_ns + np.uint64(step)
    column = {
        name: text.column(name).cast(pa.float64()).to_numpy().copy()  # writable, for Cython
        for name in ("open", "high", "low", "close", "volume")
    }
    venue = Venue("SIM")
    pair = CurrencyPair(
        instrument_id=InstrumentId(Symbol(SYMBOL), venue),
        raw_symbol=Symbol(SYMBOL),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=price_precision,
        size_precision=size_precision,
        price_increment=Price(10.0**-price_precision, price_precision),
        size_increment=Quantity(10.0**-size_precision, size_precision),
        ts_event=0,
        ts_init=0,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(args.commission),
        taker_fee=Decimal(args.commission),
    )
    bar_type = BarType.from_str(f"{pair.id}-{step // 60_000_000_000}-MINUTE-LAST-EXTERNAL")
    bars = Bar.from_raw_arrays_to_list(
        bar_type, price_precision, size_precision, column["open"], column["high"],
        column["low"], column["close"], column["volume"], closes_ns, closes_ns,
    )  # fmt: skip
    # the open ticks carry at least the order's size: a whole fill at the open, as the other
    # engines (no volume model), not the rest slipped a tick when the bar's volume is smaller
    floor = float(Decimal(args.size))
    data: list[Any] = []
    for index, (stamp, open_, volume) in enumerate(
        zip(opens_ns.tolist(), column["open"].tolist(), column["volume"].tolist(), strict=True)
    ):
        tick = TradeTick(pair.id, Price(open_, price_precision),
                         Quantity(max(volume, floor), size_precision),
                         AggressorSide.NO_AGGRESSOR, TradeId(str(index)), stamp, stamp)  # fmt: skip
        data.append(tick)  # bar index's open, before bar index - 1 (the same nanosecond)
        if index:
            data.append(bars[index - 1])
    data.append(bars[-1])

    class CrossConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg,unused-ignore]
        fast: int
        slow: int
        size: str

    class SmaCross(Strategy):  # type: ignore[misc,unused-ignore]
        def __init__(self, config: CrossConfig) -> None:
            super().__init__(config)
            self.fast = SimpleMovingAverage(config.fast)
            self.slow = SimpleMovingAverage(config.slow)
            self.size = pair.make_qty(Decimal(config.size))
            self.above: bool | None = None

        def on_start(self) -> None:
            self.register_indicator_for_bars(bar_type, self.fast)  # updated before on_bar
            self.register_indicator_for_bars(bar_type, self.slow)
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: Any) -> None:
            if not self.slow.initialized:
                return
            above = self.fast.value > self.slow.value
            previous, self.above = self.above, above
            if previous is None or previous == above:
                return
            side = OrderSide.BUY if above else OrderSide.SELL
            self.submit_order(self.order_factory.market(pair.id, side, self.size))

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    engine.add_venue(
        venue=venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(CASH, USDT), Money(0, BTC)],
        bar_execution=False,
    )
    engine.add_instrument(pair)
    engine.add_data(data, sort=False)
    strategy = SmaCross(CrossConfig(fast=args.fast, slow=args.slow, size=str(args.size)))
    engine.add_strategy(strategy)
    rss_after_load = peak_rss_mib()
    started, cpu = time.perf_counter(), time.process_time()
    engine.run()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    fills = sorted(
        (event.ts_event, event.order_side == OrderSide.BUY, str(event.last_px))
        for order in engine.cache.orders()
        for event in order.events
        if type(event).__name__ == "OrderFilled"
    )
    trips: list[dict[str, Any]] = []
    entry: tuple[int, str] | None = None
    for stamp_ns, buy, price in fills:
        if buy:
            entry = (stamp_ns // 1_000, price)
        elif entry is not None:
            trips.append({"entry_us": entry[0], "entry_price": entry[1],
                          "exit_us": stamp_ns // 1_000, "exit_price": price})  # fmt: skip
            entry = None
    engine.dispose()
    return _result(len(bars), seconds, cpu_seconds, rss_after_load, trips)


def run_bare(csv: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The same rules as a bare Python loop over floats: no events, no accounting."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(csv)
    stamps = table.column("timestamp").cast(pa.timestamp("us", tz="UTC"))
    times = stamps.cast(pa.int64()).to_pylist()
    opens = table.column("open").to_pylist()
    closes = table.column("close").to_pylist()
    rss_after_load = peak_rss_mib()
    started, cpu = time.perf_counter(), time.process_time()
    fast_n, slow_n = args.fast, args.slow
    fast_sum = slow_sum = 0.0
    above: bool | None = None
    pending: bool | None = None  # True: buy at the next open, False: sell at it
    entry: tuple[int, float] | None = None
    trips: list[dict[str, Any]] = []
    for index, close in enumerate(closes):
        if pending is not None:
            if pending and entry is None:
                entry = (times[index], opens[index])
            elif not pending and entry is not None:
                trips.append(_trip(entry, times[index], opens[index]))
                entry = None
            pending = None
        fast_sum += close
        slow_sum += close
        if index >= fast_n:
            fast_sum -= closes[index - fast_n]
        if index >= slow_n:
            slow_sum -= closes[index - slow_n]
        if index + 1 < slow_n:
            continue
        now = fast_sum / fast_n > slow_sum / slow_n
        if above is not None and now != above:
            pending = now
        above = now
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    return _result(len(closes), seconds, cpu_seconds, rss_after_load, trips)


def cli_command(
    csv: Path, work: Path, args: argparse.Namespace
) -> tuple[list[str], dict[str, str]]:
    """``lh backtest --json`` in ``work`` (its own embedded store): the command and its
    environment. The parent runs it itself (``spawn``), so the whole time is lh's process
    alone, as backtesting.py's is its own process (no second interpreter in between)."""
    command = [
        sys.executable, "-m", "api", "backtest", "--data", str(csv), "--strategy", "sma_cross",
        "--param", f"fast={args.fast}", "--param", f"slow={args.slow}",
        "--param", f"size={args.size}", "--cash", str(CASH), "--commission", args.commission,
        "--json",
    ]  # fmt: skip
    environment = {**os.environ, "LH_VAR_DIR": str(work), "LH_CONFIG": str(work / "none.toml")}
    (work / "none.toml").write_text("")
    return command, environ_with_path(environment)


def cli_result(output: bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(output)
    return {"events_recorded": out.get("events"), "trades": out.get("metrics", {}).get("trades")}


def run_cli(csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``lh backtest --json`` run from a child (``--child lh-cli``); ``spawn`` runs it directly."""
    command, environment = cli_command(csv, work, args)
    done = subprocess.run(command, cwd=work, env=environment, check=False, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace").strip().splitlines()[-1:])
    return cli_result(done.stdout)


def cache_bytecode() -> None:
    """Every engine's process reads compiled bytecode, as an installed package does: the peers
    come with theirs in site-packages, but with ``PYTHONDONTWRITEBYTECODE`` set (as on the
    shared benchmark machine) LiangHua's modules, imported from the repository, would be
    compiled from source in every process (lh's and its writer's). Compiled once here, untimed,
    into the repository's ``__pycache__`` folders (ignored by git), where imports look."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    root = Path(__file__).resolve().parent.parent
    packages = [str(root / name) for name in PACKAGES]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)


def environ_with_path(environment: dict[str, str]) -> dict[str, str]:
    """The repository on ``PYTHONPATH`` so ``-m api`` imports it from any directory."""
    root = str(Path(__file__).resolve().parent.parent)
    current = environment.get("PYTHONPATH", "")
    return {**environment, "PYTHONPATH": f"{root}{os.pathsep}{current}" if current else root}


def _pandas_frame(csv: Path) -> Any:
    import pandas as pd
    import pyarrow.csv as pacsv

    frame = pacsv.read_csv(csv).to_pandas()
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_localize(None)
    return frame[["open", "high", "low", "close", "volume"]].astype(float)


def _micros(moment: Any) -> int:
    import pandas as pd

    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return int(stamp.value // 1_000)


def _trip(entry: tuple[int, float], exit_us: int, exit_price: float) -> dict[str, Any]:
    return {
        "entry_us": entry[0],
        "entry_price": repr(entry[1]),
        "exit_us": exit_us,
        "exit_price": repr(exit_price),
    }


def _result(
    bars: int, seconds: float, cpu_seconds: float, rss_after_load: float, trips: list[Any]
) -> dict[str, Any]:
    return {
        "bars": bars,
        "run_seconds": round(seconds, 3),
        "bars_per_s": round(bars / seconds),
        "run_cpu_seconds": round(cpu_seconds, 3),
        "bars_per_cpu_s": round(bars / cpu_seconds),
        "peak_rss_mib_after_load": round(rss_after_load),
        "peak_rss_mib": round(peak_rss_mib()),
        "trips": trips,
    }


def child_main(kind: str, csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    if kind == "lianghua":
        return run_lianghua(csv, work, args)
    if kind == "lh-cli":
        return run_cli(csv, work, args)
    if kind == "backtrader":
        return run_backtrader(csv, args)
    runners = {"backtesting": run_backtesting, "vectorbt": run_vectorbt}
    runners.update({"nautilus": run_nautilus, "bare": run_bare})
    return runners[kind](csv, args)


# --- the parent: rounds, medians, agreement ------------------------------------------------


def spawn(kind: str, csv: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One engine in a fresh interpreter: its report, its wall time and its peak RSS (and its
    children's: ``wait4`` gives the child's own resource use)."""
    command = [
        sys.executable, "-m", "benchmarks.peers", "--child", kind, "--csv", str(csv),
        "--work", str(work), "--fast", str(args.fast), "--slow", str(args.slow),
        "--size", str(args.size), "--commission", str(args.commission),
        "--valuation-interval", args.valuation_interval,
    ]  # fmt: skip
    environment, cwd = environ_with_path({**os.environ}), None
    if kind == "lh-cli":
        command, environment = cli_command(csv, work, args)
        cwd = work
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=environment, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    cpu = usage.ru_utime + usage.ru_stime  # the child and its waited-for children (the writer)
    if process.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        return {"error": lines[-1] if lines else "failed", "wall_seconds": round(wall, 3)}
    result: dict[str, Any] = cli_result(output) if kind == "lh-cli" else json.loads(output)
    result["process_cpu_seconds"] = round(cpu, 3)
    result["whole_bars_per_cpu_s"] = round(args.bars / cpu)
    result["wall_seconds"] = round(wall, 3)
    result["whole_bars_per_s"] = round(args.bars / wall)
    return result


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(kind: str, runs: list[dict[str, Any]], reference: list[Any] | None) -> dict[str, Any]:
    ok = [run for run in runs if "error" not in run]
    summary: dict[str, Any] = {
        "runs": len(runs),
        "failed": [r["error"] for r in runs if "error" in r],
    }
    for key in ("bars_per_s", "bars_per_cpu_s", "whole_bars_per_s", "whole_bars_per_cpu_s",
                "run_cpu_seconds", "process_cpu_seconds", "load_cpu_seconds",
                "load_rows_per_s", "peak_rss_mib",
                "peak_rss_mib_all", "writer_peak_rss_mib", "wall_seconds", "run_seconds",
                "load_seconds", "events_recorded"):  # fmt: skip
        found = [run[key] for run in ok if isinstance(run.get(key), int | float)]
        if found:
            summary[key] = spread(found)
    trips = [run["trips"] for run in ok if "trips" in run]
    if trips:
        summary["trades"] = len(trips[0])
        if reference is not None and kind != "lianghua":
            summary["agreement_with_lianghua"] = compare(reference, trips[0])
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--size", default="1")
    parser.add_argument("--commission", default="0.001")
    parser.add_argument("--valuation-interval", default="1h")
    parser.add_argument("--child", choices=ENGINES)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_main(args.child, args.csv, args.work, args)))
        return
    wanted = [name for name in args.engines.split(",") if name]
    missing = {
        name: f"{MODULES[name]} is not installed (pip install '.[bench]')"
        for name in wanted
        if name in MODULES and find_spec(MODULES[name]) is None
    }
    engines = [name for name in wanted if name not in missing]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    loads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lh-peers-") as folder:
        work = Path(folder)
        csv = write_csv(to_table(generate(args.bars, seed=args.seed)), work / "bars.csv")
        cache_bytecode()
        for index in range(max(1, args.rounds)):
            for name in engines:
                run_dir = work / f"{name}-{index}"
                run_dir.mkdir()
                loads.append(os.getloadavg()[0])
                runs[name].append(spawn(name, csv, run_dir, args))
            # the rounds so far, one line on stderr: a long run interrupted still says something
            print(json.dumps(report_of(args, runs, loads, missing)), file=sys.stderr, flush=True)
    print(json.dumps(report_of(args, runs, loads, missing), indent=2))


def report_of(
    args: argparse.Namespace,
    runs: dict[str, list[dict[str, Any]]],
    loads: list[float],
    missing: dict[str, str],
) -> dict[str, Any]:
    reference = next((run["trips"] for run in runs.get("lianghua", []) if "trips" in run), None)
    return {
        "benchmark": "peers",
        "bars": args.bars,
        "rounds": len(next(iter(runs.values()), [])),
        "strategy": f"sma_cross fast={args.fast} slow={args.slow} size={args.size}",
        "commission": args.commission,
        "data": f"synthetic GBM with regimes, 1m bars, seed {args.seed}",
        "load_average_1m": spread(loads),
        "not_run": missing,
        "engines": {name: summarize(name, found, reference) for name, found in runs.items()},
    }


if __name__ == "__main__":
    main()
