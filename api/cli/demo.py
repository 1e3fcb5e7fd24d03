"""`lh demo`: the main job on embedded defaults — backtest the built-ins on the bundled sample,
build every read model, print analytics, and seal and verify the durable log.

Rerunning it records nothing twice: backtests are recognised by their run id, projections
resume from their checkpoints and sealing only adds new full segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import typer
from rich.panel import Panel
from rich.progress import (
    TaskID,
)
from rich.table import Table

from adapters.marketdata import load_bars
from adapters.marketdata.sample import SAMPLE_CSV
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import BacktestConfig, BacktestResult, run_backtest
from api.application.bootstrap import App
from api.application.reporting.formats import FORMATS, pdf_problem
from api.application.reporting.generate import ReportRequest, key_prefix
from api.application.reporting.kinds import KINDS
from api.application.reporting.schedule import Cadence, event_time_span, next_start, period_start
from api.cli.common import app_or_exit, console, event_store, fail, progress_bar
from api.cli.report import ReportInputs, generate_or_fail, print_report
from domain.events.types import RunMode
from infra.archive import Archive, seal, verify
from infra.eventstore.store import EventStore
from infra.secrets import redact_url
from infra.settings import var_dir
from projections.base import Projection
from projections.clickhouse.client import ClickHouseUnavailableError, open_client
from projections.objectstore.artefacts import write_backtest_artefacts
from projections.queries.analytics.filters import Filters
from projections.queries.analytics.output import text
from projections.queries.analytics.run import QueryResult, run_named
from projections.queries.reports.source import ReportScope
from projections.registry import StoreMismatchError, bind_to_store
from projections.runner import ProjectionRunner
from projections.sql.engine import SqlReadModelError
from projections.sql.projection import SqlProjection

STRATEGIES = ("sma_cross", "mean_reversion", "momentum")
QUERIES = {
    "pnl_by_day": ("day", "strategy", "pnl", "fees_paid", "equity"),
    "slippage": ("strategy", "symbol", "fills", "mean_bps", "p50_bps", "p95_bps"),
}
SLIPPAGE_BPS = Decimal(2)


def register(app: typer.Typer) -> None:
    """Add ``lh demo`` to the top-level app."""
    app.command("demo")(demo)


def demo() -> None:
    """Backtest sma_cross, mean_reversion and momentum on the bundled SYNTHETIC sample data,
    build the SQL, ClickHouse and object-store read models, print analytics, seal the log."""
    app = app_or_exit()
    stores = app.settings.stores
    console.print(
        Panel.fit(
            f"event store   {redact_url(stores.event_store)}\n"
            f"read model    {redact_url(stores.sql_url)}\n"
            f"analytics     {redact_url(stores.clickhouse_url)}\n"
            f"object store  {redact_url(stores.object_store)}\n"
            f"market data   {SAMPLE_CSV.name} — SYNTHETIC bars from a seeded generator, "
            "not real market prices",
            title="LiangHua demo on embedded defaults",
        )
    )
    bars = load_bars(SAMPLE_CSV)
    with event_store(app) as store:
        projections = _open_read_models(app, store)  # before anything is recorded
        try:
            results = _backtests(app, store, bars)
            _print_backtests(results)
            _build_read_models(store, projections)
        finally:
            for projection in projections:
                projection.close()
        _seal_and_verify(store, app.archive())
        _print_analytics(stores.clickhouse_url)
        _write_reports(app, store)
    console.print(
        "\nNext: [bold]lh report trades --from DAY --to DAY[/bold] · "
        "[bold]lh store tail[/bold] · [bold]lh audit trace --fill ID[/bold] · "
        "[bold]lh analytics list[/bold] · [bold]lh projections verify[/bold] · "
        "[bold]lh archive status[/bold] (docs/cli.md)"
    )


def _backtests(
    app: App, store: EventStore, bars: Mapping[str, Sequence[Any]]
) -> list[tuple[str, str, BacktestResult]]:
    results = []
    runs = [(strategy, symbol) for strategy in STRATEGIES for symbol in sorted(bars)]
    with progress_bar() as progress:
        overall = progress.add_task("backtests", total=len(runs))
        for strategy, symbol in runs:
            task = progress.add_task(f"  {strategy} {symbol}", total=len(bars[symbol]))
            config = BacktestConfig(
                bars={symbol: bars[symbol]},
                strategy=strategy,
                params={},
                venue=SimulatedVenueConfig(slippage_bps=SLIPPAGE_BPS),
            )

            def advance(done: int, total: int, task: TaskID = task) -> None:
                progress.update(task, completed=done, total=total)

            result = run_backtest(
                config,
                store,
                progress=advance,
                venues=app.venues,
                clock=app.clock(RunMode.BACKTEST),
            )
            write_backtest_artefacts(
                app.object_store, result.run_id, result.trades, result.equity_curve, result.metrics
            )
            results.append((strategy, symbol, result))
            progress.remove_task(task)
            progress.advance(overall)
    return results


def _print_backtests(results: list[tuple[str, str, BacktestResult]]) -> None:
    table = Table(
        "strategy",
        "symbol",
        "trades",
        "return",
        "sharpe",
        "max dd",
        "final equity",
        title="Backtests: 100,000 cash, commission 0.1%, slippage 2 bps",
    )
    for strategy, symbol, result in results:
        metrics = result.metrics
        table.add_row(
            strategy,
            symbol,
            str(metrics["trades"]),
            _percent(metrics["total_return"]),
            _number(metrics["sharpe"]),
            _percent(metrics["max_drawdown"]),
            _money(result.final_equity),
        )
    console.print(table)
    recorded = sum(result.events for _, _, result in results if not result.already_recorded)
    console.print(f"{recorded} new events recorded" if recorded else "runs already recorded")


def _open_read_models(app: App, store: EventStore) -> list[Projection]:
    """Every read model, bound to ``store``; a missing server database or a read model of
    another store stops the demo (exit 2) before it records anything."""
    try:
        projections = app.read_models()
    except (SqlReadModelError, ClickHouseUnavailableError) as error:
        raise fail(str(error), 2) from None
    try:
        bind_to_store(projections, store)
    except StoreMismatchError as error:
        for projection in projections:
            projection.close()
        raise fail(str(error), 2) from None
    return projections


def _build_read_models(store: EventStore, projections: list[Projection]) -> None:
    runner = ProjectionRunner(store, projections, batch_size=20_000)
    with progress_bar() as progress:
        tasks = {
            p.name: progress.add_task(f"read model {p.name}", total=store.head())
            for p in projections
        }
        runner.on_applied = lambda name, checkpoint: progress.update(
            tasks[name], completed=checkpoint
        )
        runner.catch_up()
    table = Table("read model", "checkpoint", "head", "lag", title="Read models")
    for status in runner.status():
        table.add_row(status.name, str(status.checkpoint), str(status.head), str(status.lag))
    console.print(table)
    if runner.errors:
        raise typer.Exit(1)


def _seal_and_verify(store: EventStore, archive: Archive) -> None:
    sealed = seal(store, archive, final=True)
    report = verify(archive)
    status = "[green]chain verified[/green]" if report.ok else "[red]VERIFY FAILED[/red]"
    console.print(
        f"Durable log: {report.segments} segments sealed up to position {report.sealed_to} "
        f"(+{sealed.events} this run); {status}; last hash {report.last_hash[:16]}…"
    )


def _write_reports(app: App, store: EventStore) -> None:
    """Every report kind over the days the demo's log covers, published and in var/reports."""
    head = store.head()
    span = event_time_span(store, head)
    if span is None:
        return
    start = period_start(span[0], Cadence.DAILY)
    end = next_start(period_start(span[1], Cadence.DAILY), Cadence.DAILY)
    console.print("\nReports (every figure cross-checked against a replay of the log):")
    formats: tuple[str, ...] = FORMATS
    problem = pdf_problem()
    if problem:
        formats = tuple(name for name in FORMATS if name != "pdf")
        console.print(f"[yellow]no PDF: {problem}[/yellow]", highlight=False)
    sql = SqlProjection.open(app.settings.stores.sql_url)
    objects = app.object_store
    try:
        inputs = ReportInputs(
            store, sql.engine, objects, app.archive(), head, app.settings.retention
        )
        for kind in KINDS:
            scope = ReportScope(kind, start, end)
            out = var_dir() / key_prefix(scope)
            report = generate_or_fail(inputs, ReportRequest(scope, formats, out))
            print_report(report, objects, as_json=False)
    finally:
        sql.close()


def _print_analytics(clickhouse_url: str) -> None:
    client = open_client(clickhouse_url)
    try:
        for name, columns in QUERIES.items():
            _print_result(name, run_named(client, name, Filters()), columns)
    finally:
        client.close()


def _print_result(name: str, result: QueryResult, columns: tuple[str, ...], limit: int = 6) -> None:
    """The last ``limit`` rows of ``columns`` (those the query has), numbers to 2 places."""
    shown = [column for column in columns if column in result.columns]
    indexes = [result.columns.index(column) for column in shown]
    table = Table(*shown, title=f"lh analytics run {name}")
    for row in result.rows[-limit:]:
        table.add_row(*(_cell(row[index]) for index in indexes))
    console.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return f"{value:,.2f}"
    return text(value)


def _percent(value: object) -> str:
    return f"{float(str(value)) * 100:.2f}%" if value != "n/a" else "n/a"


def _number(value: object) -> str:
    return f"{float(str(value)):.2f}" if value != "n/a" else "n/a"


def _money(value: object) -> str:
    return f"{Decimal(str(value)):,.2f}" if value != "n/a" else "n/a"
