"""`lh backtest`, `lh optimize`, `lh paper`: run strategies and record every fact."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Column, Table
from rich.text import Text

from adapters.marketdata import DataReport, GapsError, MarketDataError, read_bars
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import run_backtest
from api.application.failures import RunFailedError
from api.application.recorded_run import RecoveryError
from api.application.runs import (
    BacktestConfig,
    BacktestResult,
    RunConfigError,
    check_values,
    prepare_run,
)
from api.application.strategies import resolve_strategy
from api.cli.common import (
    app_or_exit,
    console,
    err_console,
    event_store,
    exit_done,
    fail,
    known_failure,
)
from api.cli.observability import LOG_JSON, METRICS_PORT, observe_process
from domain.engine.engine import parse_interval
from domain.events.envelope import from_microseconds
from domain.events.types import RunMode
from domain.market import BarSeries
from domain.risk import RiskLimits
from domain.strategy import StrategyError, parse_assignments
from infra.eventstore.errors import StreamVersionConflictError
from infra.eventstore.leases import LeaseHeldError, LeaseLostError
from infra.secrets import redact_url
from infra.settings import ConfigError, Settings

if TYPE_CHECKING:
    from api.application.bootstrap import App
    from api.application.optimize import GridRun

BAD_INPUT = 2
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DataOption = typer.Option(..., "--data", help="Bar file (CSV or Parquet).")
StrategyOption = typer.Option(..., "--strategy", help="Built-in name or path/file.py:ClassName.")
SymbolOption = typer.Option(None, "--symbol", help="Only this symbol of the file.")
ParamOption = typer.Option([], "--param", help="Strategy parameter name=value (repeatable).")
CashOption = typer.Option("100000", "--cash", help="Initial cash.")
CommissionOption = typer.Option(
    None,
    "--commission",
    help="Fee, fraction of notional. Default: commission of [venue.sim] in the config file, "
    "else 0.001.",
)
SlippageOption = typer.Option(
    None,
    "--slippage-bps",
    help="Slippage in basis points. Default: slippage_bps of [venue.sim], else 0.",
)
VolumeCapOption = typer.Option(
    None,
    "--volume-cap",
    help="Max fraction of bar volume per bar ('none': no cap). Default: volume_cap of "
    "[venue.sim], else no cap.",
)
LimitOption = typer.Option([], "--limit", help="Risk limit name=value (repeatable).")
RunIdOption = typer.Option(None, "--run-id", help="Run id (default: derived from the config).")
RecordBarsOption = typer.Option(False, "--record-bars", help="Also record BarClosed events.")
ValuationOption = typer.Option(
    "1h",
    "--valuation-interval",
    help="Record PortfolioValued every interval of bar time (30s, 15m, 1h, 1d), after bars "
    "with fills and at the end.",
)
AllowGapsOption = typer.Option(
    False,
    "--allow-gaps",
    help="Accept holes in the bars (missing bars where the series trades). Weekends, holidays, "
    "nights and lunch breaks of a series that follows an exchange calendar are never holes: "
    "they are summarized on stderr and accepted.",
)
PeriodsOption = typer.Option(
    None,
    "--periods-per-year",
    min=1,
    max=366,
    help="Daily returns a year for Sharpe, Sortino and volatility. Default: inferred from the "
    "calendar of the bars (252 for exchange days, 365 for 24/7). Not part of the run id.",
)
GridOption = typer.Option(..., "--grid", help="name=v1,v2,... (repeatable).")
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object.")


def register(app: typer.Typer) -> None:
    """Add the trading commands to the top-level app."""
    app.command("backtest")(backtest)
    app.command("optimize")(optimize)
    app.command("paper")(paper)


def backtest(
    *,
    data: Path = DataOption,
    strategy: str = StrategyOption,
    symbol: str | None = SymbolOption,
    param: list[str] = ParamOption,
    cash: str = CashOption,
    commission: str | None = CommissionOption,
    slippage_bps: str | None = SlippageOption,
    volume_cap: str | None = VolumeCapOption,
    limit: list[str] = LimitOption,
    run_id: str | None = RunIdOption,
    record_bars: bool = RecordBarsOption,
    valuation_interval: str = ValuationOption,
    allow_gaps: bool = AllowGapsOption,
    periods_per_year: int | None = PeriodsOption,
    as_json: bool = JsonOption,
) -> None:
    """Backtest a strategy on a bar file and record the run in the event store."""
    app = app_or_exit()
    config = _config(
        app.settings,
        data=data,
        strategy=strategy,
        symbol=symbol,
        params=param,
        cash=cash,
        commission=commission,
        slippage_bps=slippage_bps,
        volume_cap=volume_cap,
        limits=limit,
        run_id=run_id,
        record_bars=record_bars,
        valuation_interval=valuation_interval,
        allow_gaps=allow_gaps,
        periods_per_year=periods_per_year,
        mode=RunMode.BACKTEST,
    )
    with (
        event_store(app) as store,
        _progress(not as_json, "backtest") as progress,
        _run_errors(),
    ):
        result = run_backtest(
            config,
            store,
            progress=progress,
            venues=app.venues,
            clock=app.clock(RunMode.BACKTEST),
        )
    _print_result(result, as_json, _shown_store(app))
    exit_done()  # the store is closed and the writer reaped: skip tearing the run down


def paper(
    *,
    data: Path = DataOption,
    strategy: str = StrategyOption,
    speed: float = typer.Option(60.0, "--speed", help="x real time; 0 = as fast as possible."),
    symbol: str | None = SymbolOption,
    param: list[str] = ParamOption,
    cash: str = CashOption,
    commission: str | None = CommissionOption,
    slippage_bps: str | None = SlippageOption,
    volume_cap: str | None = VolumeCapOption,
    limit: list[str] = LimitOption,
    run_id: str | None = RunIdOption,
    record_bars: bool = RecordBarsOption,
    valuation_interval: str = ValuationOption,
    allow_gaps: bool = AllowGapsOption,
    periods_per_year: int | None = PeriodsOption,
    as_json: bool = JsonOption,
    metrics_port: int = METRICS_PORT,
    log_json: bool = LOG_JSON,
) -> None:
    """Paper-trade a strategy on the wall clock, replaying a bar file; resumes after a crash.
    Steer a running session from another shell with `lh ctl`."""
    from api.application.paper import run_paper  # imported here: a backtest needs none of it

    if speed < 0:
        raise fail(f"--speed must be >= 0, got {speed}", BAD_INPUT)
    app = app_or_exit()
    observe_process(app, metrics_port=metrics_port, log_json=log_json)
    config = _config(
        app.settings,
        data=data,
        strategy=strategy,
        symbol=symbol,
        params=param,
        cash=cash,
        commission=commission,
        slippage_bps=slippage_bps,
        volume_cap=volume_cap,
        limits=limit,
        run_id=run_id,
        record_bars=record_bars,
        valuation_interval=valuation_interval,
        allow_gaps=allow_gaps,
        periods_per_year=periods_per_year,
        mode=RunMode.PAPER,
    )
    with (
        event_store(app) as store,
        _progress(not as_json, "paper") as progress,
        _run_errors(),
    ):
        result = run_paper(
            config,
            store,
            speed=speed,
            progress=progress,
            venues=app.venues,
            clock=app.clock(RunMode.PAPER),
        )
    _print_result(result, as_json, _shown_store(app))


def optimize(
    *,
    data: Path = DataOption,
    strategy: str = StrategyOption,
    grid: list[str] = GridOption,
    jobs: int = typer.Option(2, "--jobs", min=1, help="Parallel worker processes."),
    rank_by: str = typer.Option("sharpe", "--rank-by", help="Metric to rank by."),
    symbol: str | None = SymbolOption,
    param: list[str] = ParamOption,
    cash: str = CashOption,
    commission: str | None = CommissionOption,
    slippage_bps: str | None = SlippageOption,
    volume_cap: str | None = VolumeCapOption,
    limit: list[str] = LimitOption,
    valuation_interval: str = ValuationOption,
    allow_gaps: bool = AllowGapsOption,
    periods_per_year: int | None = PeriodsOption,
    run: str | None = typer.Option(
        None,
        "--run",
        help="Name this optimization: its runs get ids NAME-<digest> instead of bt-<digest>, "
        "to tell optimizations apart (lh analytics run ... --run ID).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Backtest every combination of a parameter grid in parallel and rank the runs."""
    from api.application.optimize import check_grid, parse_grid, rank, run_grid

    app = app_or_exit()
    config = _config(
        app.settings,
        data=data,
        strategy=strategy,
        symbol=symbol,
        params=param,
        cash=cash,
        commission=commission,
        slippage_bps=slippage_bps,
        volume_cap=volume_cap,
        limits=limit,
        run_id=None,
        record_bars=False,
        valuation_interval=valuation_interval,
        allow_gaps=allow_gaps,
        periods_per_year=periods_per_year,
        mode=None,
    )
    try:
        choices = parse_grid(grid)
        check_grid(strategy, resolve_strategy(strategy).parameters, choices, set(config.params))
        if run is not None and not RUN_NAME.fullmatch(run):
            raise RunConfigError(f"--run {run!r}: use letters, digits, '.', '_' and '-' only")
    except (RunConfigError, StrategyError) as error:
        raise fail(str(error), BAD_INPUT) from None
    with event_store(app) as store, _progress(not as_json, "grid") as progress:
        runs = run_grid(
            config, choices, store, jobs=jobs, progress=progress, name=run, venues=app.venues
        )
    ranked = rank(runs, rank_by)
    known = next((r.result.metrics for r in ranked if r.result is not None), None)
    if known is not None and rank_by not in known:
        raise fail(f"unknown metric {rank_by!r} (known: {', '.join(known)})", BAD_INPUT)
    if known is None:
        errors = "; ".join(sorted({r.error for r in ranked}))
        raise fail(f"no valid parameter combination: {errors}", BAD_INPUT)
    if as_json:
        print(json.dumps({"rank_by": rank_by, "runs": [_grid_json(r) for r in ranked]}))
        return
    _print_grid(ranked, rank_by)


# --- input ---------------------------------------------------------------------------------


def _shown_store(app: App) -> str:
    return redact_url(app.settings.stores.event_store)


def _config(
    settings: Settings,
    *,
    data: Path,
    strategy: str,
    symbol: str | None,
    params: list[str],
    cash: str,
    commission: str | None,
    slippage_bps: str | None,
    volume_cap: str | None,
    limits: list[str],
    run_id: str | None,
    record_bars: bool,
    valuation_interval: str,
    allow_gaps: bool,
    periods_per_year: int | None,
    mode: RunMode | None,
) -> BacktestConfig:
    """Everything validated up front: any problem is one line on stderr and exit code 2.
    Costs and limits not given as options come from the config file (``settings``)."""
    try:
        bars, report = _bars(data, symbol, allow_gaps)
        config = BacktestConfig(
            bars=bars,
            strategy=strategy,
            params=parse_assignments(params),
            cash=_decimal("--cash", cash),
            venue=_venue(settings, commission, slippage_bps, volume_cap),
            run_id=run_id,
            record_bars=record_bars,
            risk_limits=_limits(settings, limits),
            valuation_interval=valuation_interval,
            periods_per_year=periods_per_year,
        )
        try:
            parse_interval(valuation_interval)
        except ValueError as error:
            raise RunConfigError(f"--valuation-interval: {error}") from None
        if mode is not None:
            prepare_run(config, mode)
        else:
            check_values(config)
            resolve_strategy(strategy)
    except GapsError as error:
        raise fail(error.message_for("rerun with --allow-gaps"), BAD_INPUT) from None
    except (RunConfigError, StrategyError, MarketDataError) as error:
        raise fail(str(error).splitlines()[0], BAD_INPUT) from None
    for line in report.calendar_message().splitlines():
        err_console.print(Text(line, style="dim"), soft_wrap=True)
    return config


def _bars(
    data: Path, symbol: str | None, allow_gaps: bool
) -> tuple[dict[str, BarSeries], DataReport]:
    if data.is_dir():
        raise RunConfigError(f"--data {data} is a directory; give one bar file (CSV or Parquet)")
    if not data.is_file():
        raise RunConfigError(f"data file {data} does not exist")
    bars, report = read_bars(data, symbol=symbol, allow_gaps=allow_gaps)
    if symbol is not None and symbol not in bars:
        raise RunConfigError(f"symbol {symbol} is not in {data} (has: {', '.join(sorted(bars))})")
    return bars, report


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RunConfigError(f"{option} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise RunConfigError(f"{option} must be finite, got {text!r}")
    return value


def _venue(
    settings: Settings, commission: str | None, slippage_bps: str | None, volume_cap: str | None
) -> SimulatedVenueConfig:
    """The ``[venue.sim]`` config with the cost options given on the command line."""
    given: dict[str, Decimal | None] = {}
    if commission is not None:
        given["commission"] = _decimal("--commission", commission)
    if slippage_bps is not None:
        given["slippage_bps"] = _decimal("--slippage-bps", slippage_bps)
    if volume_cap is not None:
        no_cap = volume_cap.strip().lower() == "none"
        given["volume_cap"] = None if no_cap else _decimal("--volume-cap", volume_cap)
    return settings.venue.sim.model_copy(update=given)


def _limits(settings: Settings, items: list[str]) -> RiskLimits:
    try:
        return settings.risk_limits(parse_assignments(items))
    except ConfigError as error:
        raise RunConfigError(str(error)) from None


# --- output --------------------------------------------------------------------------------


@contextmanager
def _run_errors() -> Iterator[None]:
    """How a recorded run (backtest or paper) ends when it cannot go on: one line each."""
    try:
        yield
    except (RecoveryError, LeaseHeldError) as error:
        raise fail(str(error), BAD_INPUT) from None
    except LeaseLostError as error:
        raise fail(str(error), 1) from None
    except StreamVersionConflictError as error:
        raise _conflict(error) from None
    except RunFailedError as error:
        raise _run_failed(error) from None


def _run_failed(error: RunFailedError) -> typer.Exit:
    """A strategy's error as its own traceback (no framework frames), then one line saying
    what happened to the run and what to do; exit 1."""
    failure = error.failure
    if not failure.resumable:
        if failure.frames:  # none when the call itself failed (a wrong hook signature)
            lines = ["Traceback of the strategy (most recent call last):", *failure.frames]
            err_console.print(Text("\n".join(lines)), soft_wrap=True, highlight=False)
        err_console.print(Text(f"{failure.error_type}: {failure.message}"), soft_wrap=True)
        return fail(
            f"run {error.run_id} failed in the strategy's {error.hook or 'code'}; recorded as "
            "RunFailed. Fix the strategy and run again (an edited strategy file is a new run).",
            1,
        )
    where = "recorded as RunFailed" if error.recorded else "the store could not record it"
    known = known_failure(error)  # a full disk, a read-only store: the user's to fix
    if known is not None:
        return fail(f"run {error.run_id} was interrupted ({where}): {known}", BAD_INPUT)
    return fail(
        f"run {error.run_id} was interrupted ({failure.error_type}: {failure.message}); "
        f"{where}. Run the same command again to resume it once the store is reachable.",
        1,
    )


def _conflict(error: StreamVersionConflictError) -> typer.Exit:
    """Another process recorded into this run at the same time (it held the run's lease while
    this one was paused past it): this one stops, the log keeps one event per version."""
    return fail(
        f"another process recorded into this run at the same time ({error}); this process "
        "stopped. Once no other process runs it, run the same command again to resume it",
        1,
    )


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _time(micros: int) -> str:
    return from_microseconds(micros).isoformat().replace("+00:00", "Z")


def _result_json(result: BacktestResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "final_equity": str(result.final_equity),
        "events": result.events,
        "first_position": result.first_position,
        "last_position": result.last_position,
        "already_recorded": result.already_recorded,
        "metrics": result.metrics,
        "trades": [
            {
                "symbol": t.symbol,
                "side": t.side.value,
                "entry_time": _time(t.entry_time_us),
                "entry_price": str(t.entry_price),
                "exit_time": _time(t.exit_time_us),
                "exit_price": str(t.exit_price),
                "qty": str(t.quantity),
                "pnl": str(t.pnl),
                "fees": str(t.fees),
            }
            for t in result.trades
        ],
    }


def _print_result(result: BacktestResult, as_json: bool, store_url: str) -> None:
    if as_json:
        print(json.dumps(_result_json(result)))
        return
    table = Table("metric", "value", title=f"run {result.run_id}")
    for name, value in result.metrics.items():
        table.add_row(name, _fmt(value))
    console.print(table)
    console.print(f"final equity [bold]{result.final_equity}[/bold], {len(result.trades)} trades")
    if result.already_recorded:
        console.print(f"already recorded in {store_url}: {result.events} events (nothing new)")
    else:
        console.print(
            f"recorded {result.events} events in {store_url} "
            f"(positions {result.first_position}..{result.last_position})"
        )


def _grid_json(run: GridRun) -> dict[str, Any]:
    if run.result is None:
        return {"params": run.params, "error": run.error}
    return {"params": run.params} | _result_json(run.result)


def _print_grid(runs: list[GridRun], metric: str) -> None:
    table = Table(
        "#",
        "params",
        Column("run id", overflow="fold"),
        metric,
        "total return",
        "max dd",
        "trades",
        "final equity",
        title=f"ranked by {metric}",
    )
    for index, run in enumerate(runs, start=1):
        params = " ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
        if run.result is None:
            table.add_row("-", params, "[red]skipped[/red]", run.error, "", "", "", "")
            continue
        m = run.result.metrics
        table.add_row(
            str(index),
            params,
            run.result.run_id,
            _fmt(m.get(metric)),
            _fmt(m["total_return"]),
            _fmt(m["max_drawdown"]),
            str(m["trades"]),
            str(run.result.final_equity),
        )
    console.print(table)
    periods = {
        (r.result.metrics["periods_per_year"], r.result.metrics["periods_per_year_source"])
        for r in runs
        if r.result is not None
    }
    for count, source in sorted(periods, key=str):
        console.print(f"annualized with {count} periods a year ({source})")


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
