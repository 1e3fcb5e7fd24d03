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

from api.cli.common import console, event_store, fail, settings_or_exit
from infra.eventstore.store import EventStore
from projections.base import Projection
from projections.registry import NAMES, UnknownProjectionError, open_projections
from projections.runner import ProjectionFailedError, ProjectionRunner
from projections.sql.engine import SqlReadModelError
from projections.verify import verify as verify_projections

app = typer.Typer(
    help="Read models: run them, show their lag, rebuild and verify them.", no_args_is_help=True
)

ONLY = typer.Option(None, "--only", help=f"Only this projection (repeatable): {', '.join(NAMES)}.")
BATCH = typer.Option(2_000, "--batch-size", min=1, help="Events per transaction.")


@contextmanager
def _opened(
    only: list[str] | None, *, writing: bool = False
) -> Iterator[tuple[EventStore, list[Projection]]]:
    settings = settings_or_exit()
    try:
        projections = open_projections(settings, only)
    except (UnknownProjectionError, SqlReadModelError) as error:
        raise fail(str(error), 2) from None
    except Exception as error:  # a backend that cannot open: say which and why, no traceback
        raise fail(f"cannot open the read models: {type(error).__name__}: {error}", 2) from None
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
        with event_store(settings) as store:
            yield store, projections
    finally:
        for projection in projections:
            projection.close()


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


@app.command()
def run(
    follow: bool = typer.Option(False, "--follow", help="Keep applying live appends."),
    only: list[str] | None = ONLY,
    batch_size: int = BATCH,
    metrics_port: int = typer.Option(
        0, "--metrics-port", help="Serve Prometheus metrics (lag) on this port; 0: off."
    ),
) -> None:
    """Catch every read model up to the head of the log (then follow it with --follow)."""
    with _opened(only, writing=True) as (store, projections):
        runner = ProjectionRunner(store, projections, batch_size=batch_size)
        runner.install_signal_handlers()
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port)
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
            raise fail(str(error)) from None
        _print_status(runner)


def _print_status(runner: ProjectionRunner) -> None:
    table = Table("projection", "checkpoint", "head", "lag (events)", title="read models")
    for status in runner.status():
        lag = f"[green]{status.lag}[/green]" if status.lag == 0 else f"[yellow]{status.lag}"
        table.add_row(status.name, str(status.checkpoint), str(status.head), lag)
    console.print(table)


@app.command()
def status(
    only: list[str] | None = ONLY,
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Each read model's checkpoint, the log head and the lag between them."""
    with _opened(only) as (store, projections):
        runner = ProjectionRunner(store, projections)
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
    """
    only = None if name == "all" else [name]
    with _opened(only, writing=True) as (store, projections):
        names = ", ".join(p.name for p in projections)
        if not yes and sys.stdin.isatty() and not typer.confirm(f"drop and rebuild {names}?"):
            raise typer.Exit(1)
        for projection in projections:
            projection.reset()
        runner = ProjectionRunner(store, projections, batch_size=batch_size)
        runner.install_signal_handlers()
        started = time.monotonic()
        try:
            target = _catch_up(runner)
        except ProjectionFailedError as error:
            raise fail(str(error)) from None
        if runner.stopping:
            raise fail("rebuild interrupted; `lh projections run` resumes it from the checkpoint")
        seconds = time.monotonic() - started
        rate = target / seconds if seconds else 0.0
        console.print(f"rebuilt {names} from {target} events in {seconds:.1f} s ({rate:,.0f} ev/s)")


@app.command()
def verify(only: list[str] | None = ONLY) -> None:
    """Recompute state from the log and compare it with every read model; exit 1 on a mismatch."""
    with _opened(only) as (store, projections), _progress() as progress:
        task = progress.add_task("log state", total=None, rate="")

        def advance(done: int, target: int) -> None:
            progress.update(task, completed=done, total=target)

        results = verify_projections(store, projections, progress=advance)
    table = Table("projection", "position", "result", title="verify against the log")
    for result in results:
        if result.skipped:
            verdict = f"[yellow]not checked: {result.skipped}"
        elif result.mismatches:
            verdict = f"[red]{len(result.mismatches)} mismatch(es)"
        else:
            verdict = "[green]matches the log"
        table.add_row(result.name, str(result.position), verdict)
    console.print(table)
    problems = [problem for result in results for problem in result.mismatches]
    for problem in problems:
        console.print(f"[red]MISMATCH[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
