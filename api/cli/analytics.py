"""`lh analytics`: named analytics queries and read-only SQL over the ClickHouse read model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import app_or_exit, console, fail
from projections.clickhouse.client import open_reader
from projections.queries.analytics import (
    QUERIES,
    FilterError,
    Filters,
    QueryResult,
    ReadOnlyViolationError,
    UnknownQueryError,
    parse_time,
    run_named,
    run_sql,
)
from projections.queries.analytics.output import text, to_csv, to_json

app = typer.Typer(
    help="Analytics over the ClickHouse read model: named queries and read-only SQL.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


StartOption = Annotated[str | None, typer.Option("--from", help="Inclusive start, ISO 8601.")]
EndOption = Annotated[str | None, typer.Option("--to", help="Exclusive end, ISO 8601 UTC.")]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]


@app.command("list")
def list_queries() -> None:
    """List the named queries with what they compute and the filters they take."""
    table = Table(title="Analytics queries")
    table.add_column("name", style="bold cyan")
    table.add_column("description")
    table.add_column("filters", style="dim")
    for query in QUERIES.values():
        filters = " ".join(f"--{name}" for name in sorted(query.filters))
        table.add_row(query.name, query.description, filters)
    console.print(table)


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Query name (see `lh analytics list`).")],
    *,
    start: StartOption = None,
    end: EndOption = None,
    strategy: Annotated[str, typer.Option(help="Only this strategy.")] = "",
    symbol: Annotated[str, typer.Option(help="Only this symbol.")] = "",
    run_id: Annotated[
        str,
        typer.Option(
            "--run",
            help="Only this run (id printed by lh backtest / lh optimize); without it the "
            "runs of a strategy are added up.",
        ),
    ] = "",
    interval: Annotated[str, typer.Option(help="Bucket size for exposure/ohlcv: 5m, 1h, 1d.")] = "",
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Run one named query; filters are bound as parameters, never pasted into SQL."""
    try:
        filters = Filters(
            start=parse_time(start) if start else None,
            end=parse_time(end) if end else None,
            strategy=strategy,
            symbol=symbol,
            interval=interval,
            run=run_id,
        )
        with _client() as client:
            result = run_named(client, name, filters)
    except (FilterError, UnknownQueryError) as error:
        raise fail(str(error), 2) from None
    _show(result, output, title=name)


@app.command("sql")
def sql(
    statement: Annotated[
        str, typer.Argument(help="One SELECT (WITH, UNION, subqueries) over the analytics tables.")
    ],
    output: FormatOption = OutputFormat.TABLE,
) -> None:
    """Run one ad-hoc SELECT over the analytics tables (parsed by ClickHouse; bounded)."""
    try:
        with _client() as client:
            result = run_sql(client, statement)
    except ReadOnlyViolationError as error:
        raise fail(f"refused: {error}", 2) from None
    _show(result, output, title=None)


@contextmanager
def _client() -> Iterator[Any]:
    url = app_or_exit().settings.stores.clickhouse_url
    try:
        # through `lh projections run --follow` while it holds chDB; a copy if read-only
        client = open_reader(url, read_only=True)
    except Exception as error:
        raise fail(str(error), 2) from None
    try:
        yield client
    except (FilterError, UnknownQueryError, ReadOnlyViolationError):
        raise
    except Exception as error:
        hint = ""
        if "UNKNOWN_TABLE" in str(error) or "UNKNOWN_DATABASE" in str(error):
            hint = "\nno analytics tables yet: run `lh projections run` first"
        raise fail(f"query failed: {_first_line(error)}{hint}") from None
    finally:
        client.close()


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _show(result: QueryResult, output: OutputFormat, title: str | None) -> None:
    if output is OutputFormat.CSV:
        typer.echo(to_csv(result), nl=False)
        return
    if output is OutputFormat.JSON:
        typer.echo(to_json(result))
        return
    table = Table(title=title)
    for column in result.columns:
        table.add_column(column, overflow="fold")
    for row in result.rows:
        table.add_row(*(text(value) for value in row))
    console.print(table)
    console.print(f"[dim]{len(result.rows)} rows[/dim]")
