"""`lh report`: trade and filing reports (and compliance, once registered) from the log,
cross-checked by replay, published to the object store and optionally to a directory.

`lh report KIND --from --to` reports one period; `lh report schedule daily|weekly|monthly`
reports every closed period not yet published. docs/reports.md explains the contents.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from typer.core import TyperGroup

from adapters.objectstore import ObjectStore
from api.application.reporting.formats import FORMATS, pdf_problem
from api.application.reporting.generate import (
    GeneratedReport,
    ReportRefusedError,
    ReportRequest,
    generate_report,
    key_prefix,
)
from api.application.reporting.kinds import KINDS
from api.application.reporting.pdf_process import PdfFailedError
from api.application.reporting.replay_process import ReplayFailedError
from api.application.reporting.schedule import Cadence, closed_periods, event_time_span
from api.application.reporting.thresholds import configured_thresholds
from api.cli.common import app_or_exit, console, fail, settings_or_exit
from api.cli.projections import opened_read_models
from infra.archive.layout import Archive
from infra.eventstore.store import EventStore
from infra.secrets import redact_url
from infra.settings import Retention
from projections.queries.analytics.filters import FilterError, parse_time
from projections.queries.reports.source import ReportScope, ReportScopeError
from projections.runner import ProjectionFailedError, ProjectionRunner
from projections.sql.projection import SqlProjection


class _ReportGroup(TyperGroup):
    """``lh report``: an unknown report kind is one line, exit 2 (not click's usage box)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            raise fail(f"unknown report kind {args[0]!r} (one of {', '.join(KINDS)})", 2)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ReportGroup,
    help="Trade and filing reports from the log: HTML, PDF, CSV, JSON, every figure "
    "cross-checked by replay, published to the object store.",
    no_args_is_help=True,
)

FromOption = Annotated[
    str, typer.Option("--from", help="Start (inclusive), ISO 8601 date or time; UTC if no zone.")
]
ToOption = Annotated[str, typer.Option("--to", help="End (exclusive), ISO 8601; UTC if no zone.")]
AccountOption = Annotated[str | None, typer.Option("--account", help="Only this account.")]
RunOption = Annotated[
    str | None, typer.Option("--run", help="Only this paper or backtest run (not with --account).")
]
StrategyOption = Annotated[str | None, typer.Option("--strategy", help="Only this strategy.")]
FormatOption = Annotated[
    str, typer.Option("--format", help=f"Comma-separated formats: {','.join(FORMATS)}.")
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Also write the files to this directory.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")]
PerSecondOption = Annotated[
    int | None,
    typer.Option(
        "--max-per-second",
        min=1,
        help="Declared maximum orders + cancels per second "
        "(default: [report.compliance] orders_per_second, else 240).",
    ),
]
PerDayOption = Annotated[
    int | None,
    typer.Option(
        "--max-per-day",
        min=1,
        help="Declared maximum orders + cancels per day "
        "(default: [report.compliance] messages_per_day, else 16000).",
    ),
]
ALL_FORMATS = ",".join(FORMATS)


@dataclass(frozen=True)
class ReportInputs:
    store: EventStore
    engine: Engine
    objects: ObjectStore
    archive: Archive
    head: int
    retention: Retention


@contextmanager
def _inputs() -> Iterator[ReportInputs]:
    """The store, the SQL read model caught up to the head (the report reads it at exactly
    that position), the object store and the archive."""
    app = app_or_exit()
    with opened_read_models(app, ["sql"], writing=True) as (store, projections):
        runner = ProjectionRunner(store, projections)
        try:
            head = runner.catch_up()
        except ProjectionFailedError as error:
            raise fail(f"the SQL read model cannot catch up: {error}") from None
        sql = projections[0]
        if not isinstance(sql, SqlProjection):
            raise fail(f"read model {sql.name} is not the SQL read model", 2)
        yield ReportInputs(
            store, sql.engine, app.object_store, app.archive(), head, app.settings.retention
        )


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in chosen if name not in FORMATS]
    if unknown or not chosen:
        raise fail(
            f"unknown format {', '.join(unknown) or repr(text)}: one of {','.join(FORMATS)}", 2
        )
    problem = pdf_problem() if "pdf" in chosen else None
    if problem:
        raise fail(problem, 2)
    return chosen


def _writable(out: Path | None) -> None:
    """Refuse an --out directory that cannot be written before any work is done."""
    if out is None:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise fail(f"--out {out}: cannot write there ({error.strerror or error})", 2) from None


def _time(text: str, option: str) -> datetime:
    try:
        return parse_time(text)
    except FilterError as error:
        raise fail(f"{option}: {error}", 2) from None


def generate_or_fail(inputs: ReportInputs, request: ReportRequest) -> GeneratedReport:
    try:
        return generate_report(
            request,
            inputs.store,
            inputs.engine,
            inputs.objects,
            now=lambda: datetime.now(UTC),
            head=inputs.head,
            archive=inputs.archive,
            retention=inputs.retention,
        )
    except ReportScopeError as error:
        raise fail(str(error), 2) from None
    except (ReportRefusedError, PdfFailedError, ReplayFailedError) as error:
        raise fail(str(error), 1) from None


def print_report(report: GeneratedReport, objects: ObjectStore, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.manifest, indent=2))
        return
    log = report.manifest["log"]
    where = f"{redact_url(objects.url)}/{report.key_prefix}"
    state = "published to" if report.published else "already published at"
    console.print(
        f"{report.manifest['title']}: {report.manifest['cross_check']['figures']} figures "
        f"cross-checked against a replay of positions {log['first_position']}.."
        f"{log['last_position']}; {state} {where}",
        soft_wrap=True,
    )
    if report.out_dir is not None:
        console.print(f"written to {report.out_dir}", soft_wrap=True)


def _report_command(kind: str) -> None:
    def command(
        *,
        start: FromOption,
        end: ToOption,
        account: AccountOption = None,
        run: RunOption = None,
        strategy: StrategyOption = None,
        formats: FormatOption = ALL_FORMATS,
        out: OutOption = None,
        as_json: JsonOption = False,
        max_per_second: PerSecondOption = None,
        max_per_day: PerDayOption = None,
    ) -> None:
        if run is not None and account is not None:
            raise fail("give --run or --account, not both (a run has its account)", 2)
        chosen = _formats(formats)
        thresholds = configured_thresholds(
            settings_or_exit().report.compliance,
            orders_per_second=max_per_second,
            messages_per_day=max_per_day,
        )
        try:
            scope = ReportScope(
                kind,
                _time(start, "--from"),
                _time(end, "--to"),
                account=account,
                run=run,
                strategy=strategy,
                thresholds=thresholds,
            )
        except ReportScopeError as error:
            raise fail(str(error), 2) from None
        _writable(out)
        with _inputs() as inputs:
            report = generate_or_fail(inputs, ReportRequest(scope, chosen, out))
            print_report(report, inputs.objects, as_json=as_json)

    command.__doc__ = f"The {kind} report of [--from, --to) (event time, UTC)."
    app.command(kind)(command)


for _kind in KINDS:
    _report_command(_kind)


@app.command("schedule")
def schedule(
    cadence: Annotated[Cadence, typer.Argument(help="daily, weekly or monthly.")],
    *,
    kinds: Annotated[
        list[str] | None, typer.Option("--kind", help="Report kind (repeatable; default: all).")
    ] = None,
    account: AccountOption = None,
    formats: FormatOption = ALL_FORMATS,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report every closed period (day, week, month; UTC) the log has events in, once: those
    already published are skipped."""
    chosen_kinds = kinds or list(KINDS)
    unknown = [kind for kind in chosen_kinds if kind not in KINDS]
    if unknown:
        raise fail(f"unknown report kind {unknown[0]!r} (one of {', '.join(KINDS)})", 2)
    chosen = _formats(formats)
    thresholds = configured_thresholds(settings_or_exit().report.compliance)
    _writable(out)
    manifests = []
    with _inputs() as inputs:
        span = event_time_span(inputs.store, inputs.head)
        periods = [] if span is None else list(closed_periods(*span, cadence, datetime.now(UTC)))
        for start, end in periods:
            for kind in chosen_kinds:
                scope = ReportScope(kind, start, end, account=account, thresholds=thresholds)
                if inputs.objects.exists(key_prefix(scope) + "manifest.json"):
                    continue
                folder = None if out is None else out / key_prefix(scope)
                report = generate_or_fail(inputs, ReportRequest(scope, chosen, folder))
                manifests.append(report.manifest)
                if not as_json:
                    print_report(report, inputs.objects, as_json=False)
    if as_json:
        print(json.dumps(manifests, indent=2))
    elif not manifests:
        console.print(f"nothing to do: every closed {cadence.value} period is already published")
