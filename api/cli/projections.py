"""`lh projections`: run read models (catch up, follow), show their lag, rebuild and verify them."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from api.application.bootstrap import App
from api.cli.common import app_or_exit, console, event_store, fail, known_failure
from api.cli.failures import describe_failure
from api.cli.observability import LOG_JSON, METRICS_PORT, observe_process
from infra.eventstore.store import EventStore
from infra.observability.projection_lag import PROJECTIONS
from projections.base import Projection
from projections.clickhouse.client import ClickHouseUnavailableError
from projections.rebuild import drop_for_rebuild
from projections.registry import (
    NAMES,
    StoreMismatchError,
    UnknownProjectionError,
    bind_to_store,
)
from projections.runner import ProjectionFailedError, ProjectionRunner
from projections.sql.engine import SqlReadModelError
from projections.verify import Progress as VerifyProgress
from projections.verify import VerifyResult
from projections.verify import verify as verify_projections

app = typer.Typer(
    help="Read models: run them, show their lag, rebuild and verify them.", no_args_is_help=True
)

ONLY = typer.Option(None, "--only", help=f"Only this projection (repeatable): {', '.join(NAMES)}.")
BATCH = typer.Option(2_000, "--batch-size", min=1, help="Events per transaction.")


@contextmanager
def opened_read_models(
    app: App,
    only: list[str] | None,
    *,
    adopt: bool = False,
    create: bool = False,
    writing: bool = False,
    read_only: bool = False,
) -> Iterator[tuple[EventStore, list[Projection]]]:
    """The event store and the read models bound to it: those of another store are refused,
    unless ``adopt`` (a rebuild) makes them take the configured store; ``writing`` refuses read
    models another process holds (an embedded chDB opened by a follower); ``read_only``
    (status, verify) writes nothing, so they work on a read-only ``LH_VAR_DIR``."""
    try:
        projections = app.read_models(only, create=create, read_only=read_only)
    except (UnknownProjectionError, SqlReadModelError, ClickHouseUnavailableError) as error:
        raise fail(str(error), 2) from None
    except Exception as error:  # a backend that cannot open: say which and why, no traceback
        line = describe_failure(error)
        if line is None:
            line = f"cannot open the read models: {type(error).__name__}: {error}"
        raise fail(line, 2) from None
    held = [(p.name, pid) for p in projections if (pid := getattr(p, "view_of", None)) is not None]
    if writing and held:
        for projection in projections:
            projection.close()
        name, pid = held[0]
        raise fail(
            f"read model {name} is held by process {pid} (is `lh projections run --follow` "
            "running?): only that process may write it; stop it first, or use --only",
            2,
        )
    try:
        with event_store(app, read_only=read_only) as store:
            try:
                bind_to_store(projections, store, adopt=adopt)
            except StoreMismatchError as error:
                raise fail(str(error), 2) from None
            yield store, projections
    finally:
        for projection in projections:
            projection.close()


def read_model_results(
    app: App,
    store: EventStore,
    projections: list[Projection],
    *,
    progress: VerifyProgress | None = None,
) -> list[VerifyResult]:
    """Each read model against the log, with the failure it recorded if it stopped on an
    event (`lh projections verify` and `lh audit verify`)."""
    runner = ProjectionRunner(store, projections, failures=app.failure_records())
    failed = {
        p.name: str(failure) for p in projections if (failure := runner.failure(p)) is not None
    }
    return verify_projections(store, projections, progress=progress, failures=failed)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


class _Bars:
    """One progress bar per projection, fed from the runner's threads."""

    def __init__(self, progress: Progress, runner: ProjectionRunner) -> None:
        self.progress = progress
        self.started = time.monotonic()
        self.first: dict[str, int] = {}
        self.tasks = {
            p.name: progress.add_task(p.name, total=None, rate="") for p in runner.projections
        }

    def __call__(self, name: str, checkpoint: int, target: int) -> None:
        first = self.first.setdefault(name, checkpoint)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = f"{(checkpoint - first) / elapsed:,.0f} ev/s"
        self.progress.update(self.tasks[name], completed=checkpoint, total=target, rate=rate)


def _catch_up(runner: ProjectionRunner) -> int:
    with _progress() as progress:
        return runner.catch_up(progress=_Bars(progress, runner))


def _stopped(runner: ProjectionRunner, error: ProjectionFailedError) -> typer.Exit:
    """Why the read models stopped: a cause the user fixes (a full disk, a read-only file) in
    one line, exit 2, and the checkpoints say where a rerun resumes; else the runner's list."""
    for name, cause in runner.errors.items():
        known = known_failure(cause)
        if known is not None:
            return fail(f"read model {name} stopped at its checkpoint: {known}", 2)
    return fail(str(error))


@app.command()
def init(only: list[str] | None = ONLY) -> None:
    """Create the read models' databases and schema where missing (idempotent).

    Other commands never create a server database (MySQL, ClickHouse over HTTP): a mistyped
    name must not become a new, empty read model. Embedded files need no init.
    """
    with opened_read_models(app_or_exit(), only, create=True) as (store, projections):
        for projection in projections:
            console.print(
                f"{projection.name}: ready (checkpoint {projection.checkpoint()}, "
                f"event store {store.identity})"
            )


@app.command()
def run(
    follow: bool = typer.Option(False, "--follow", help="Keep applying live appends."),
    only: list[str] | None = ONLY,
    batch_size: int = BATCH,
    metrics_port: int = METRICS_PORT,
    log_json: bool = LOG_JSON,
) -> None:
    """Catch every read model up to the head of the log (then follow it with --follow)."""
    app = app_or_exit()
    with opened_read_models(app, only, writing=True) as (store, projections):
        records = app.failure_records()
        runner = ProjectionRunner(store, projections, batch_size=batch_size, failures=records)
        runner.install_signal_handlers()
        PROJECTIONS.follow_head(store.head)
        observe_process(app, metrics_port=metrics_port, log_json=log_json)
        try:
            target = _catch_up(runner)
            if runner.stopping:
                console.print("stopped; every checkpoint is consistent, run again to resume")
                return
            console.print(f"caught up to position {target}")
            if follow:
                console.print("following the log; Ctrl-C to stop")
                runner.follow()
        except ProjectionFailedError as error:
            raise _stopped(runner, error) from None
        _print_status(runner)


def _print_status(runner: ProjectionRunner) -> None:
    table = Table("projection", "checkpoint", "head", "lag (events)", "state", title="read models")
    failures = []
    for status in runner.status():
        lag = f"[green]{status.lag}[/green]" if status.lag == 0 else f"[yellow]{status.lag}"
        state = "[green]ok" if status.lag == 0 else "[yellow]behind"
        if status.failure is not None:
            state = f"[red]failed at {status.failure.position}"
            failures.append(status.failure)
        table.add_row(status.name, str(status.checkpoint), str(status.head), lag, state)
    console.print(table)
    for failure in failures:
        console.print(Text(f"FAILED {failure}", style="red"), soft_wrap=True)


@app.command()
def status(
    only: list[str] | None = ONLY,
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Each read model's checkpoint, the log head, the lag between them, and whether it has
    stopped on an event it cannot apply (failed, with position, event type and reason)."""
    app = app_or_exit()
    with opened_read_models(app, only, read_only=True) as (store, projections):
        runner = ProjectionRunner(store, projections, failures=app.failure_records())
        if as_json:
            statuses = runner.status()
            print(
                json.dumps(
                    {
                        "head": statuses[0].head if statuses else store.head(),
                        "projections": [
                            {
                                "name": s.name,
                                "checkpoint": s.checkpoint,
                                "head": s.head,
                                "lag": s.lag,
                                "failed": None if s.failure is None else str(s.failure),
                            }
                            for s in statuses
                        ],
                    }
                )
            )
            return
        _print_status(runner)


@app.command()
def rebuild(
    name: str = typer.Argument(..., help=f"A projection ({', '.join(NAMES)}) or 'all'."),
    batch_size: int = BATCH,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (asked only on a terminal)."),
) -> None:
    """Drop a read model (or all) and replay the whole log into it.

    Read models are derived data: nothing is lost, but queries see partial tables until done.
    The rebuilt read model records the configured event store as its source.
    """
    only = None if name == "all" else [name]
    app = app_or_exit()
    with opened_read_models(app, only, adopt=True, writing=True) as (store, projections):
        names = ", ".join(p.name for p in projections)
        if not yes and sys.stdin.isatty() and not typer.confirm(f"drop and rebuild {names}?"):
            raise typer.Exit(1)
        records = app.failure_records()
        drop_for_rebuild(store, projections)
        for projection in projections:
            records.clear(projection.name)
        runner = ProjectionRunner(store, projections, batch_size=batch_size, failures=records)
        runner.install_signal_handlers()
        started = time.monotonic()
        try:
            target = _catch_up(runner)
        except ProjectionFailedError as error:
            raise _stopped(runner, error) from None
        if runner.stopping:
            raise fail("rebuild interrupted; `lh projections run` resumes it from the checkpoint")
        seconds = time.monotonic() - started
        rate = target / seconds if seconds else 0.0
        console.print(f"rebuilt {names} from {target} events in {seconds:.1f} s ({rate:,.0f} ev/s)")


@app.command()
def verify(only: list[str] | None = ONLY) -> None:
    """Recompute state from the log and compare it with every read model; exit 1 on a mismatch,
    or when a read model is behind the head of the log or has failed on an event."""
    app = app_or_exit()
    with (
        opened_read_models(app, only, read_only=True) as (store, projections),
        _progress() as progress,
    ):
        task = progress.add_task("log state", total=None, rate="")

        def advance(done: int, target: int) -> None:
            progress.update(task, completed=done, total=target)

        results = read_model_results(app, store, projections, progress=advance)
    table = Table("projection", "position", "head", "result", title="verify against the log")
    for result in results:
        if result.mismatches:
            verdict = f"[red]{len(result.mismatches)} mismatch(es)"
        elif result.failure:
            verdict = "[red]failed"
        elif result.behind:
            verdict = f"[red]behind the log by {result.behind} event(s)"
        elif result.skipped:
            verdict = f"[yellow]not checked: {result.skipped}"
        else:
            verdict = "[green]matches the log"
        table.add_row(result.name, str(result.position), str(result.head), verdict)
    console.print(table)
    problems = [f"MISMATCH {problem}" for result in results for problem in result.mismatches]
    problems += [f"FAILED {result.failure}" for result in results if result.failure]
    problems += [
        f"BEHIND {result.name} is at position {result.position}, the log at {result.head}: "
        "run `lh projections run` to catch it up"
        for result in results
        if result.behind and not result.failure
    ]
    for problem in problems:
        console.print(Text(problem, style="red"), soft_wrap=True)
    if problems:
        raise typer.Exit(1)
