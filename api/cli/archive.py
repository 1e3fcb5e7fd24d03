"""`lh archive`: seal the event log into hash-chained segments, verify, restore, trim, status.

The archive lives in ``LH_OBJECT_STORE`` under ``archive/<archive-id>/``; the archive id
defaults to ``LH_ARCHIVE_ID`` or else the Redis key prefix (``lh``), so one object store can
hold the archives of several logs.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.table import Table

from adapters.objectstore.base import ObjectStoreError
from api.application.bootstrap import App
from api.cli.common import (
    app_or_exit,
    console,
    err_console,
    event_store,
    fail,
    progress_bar,
)
from api.cli.observability import LOG_JSON, METRICS_PORT, observe_process
from infra.archive import (
    DEFAULT_SEGMENT_SIZE,
    Archive,
    ArchiveError,
    TrimNotSupportedError,
    archive_status,
    restore,
    seal,
    trim,
    verify,
)
from infra.archive.history import HistoryReport
from infra.archive.retention import retention_note
from infra.observability import metrics
from infra.secrets import redact_url

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Durable log: sealed, hash-chained segments in the object store.", no_args_is_help=True
)

ArchiveId = typer.Option(
    None,
    "--archive-id",
    envvar="LH_ARCHIVE_ID",
    help="Archive name in the object store (default: the Redis key prefix).",
)


def _archive(app: App, archive_id: str | None) -> Archive:
    try:
        return Archive(app.object_store, archive_id or app.settings.stores.archive)
    except (ObjectStoreError, ValueError) as error:
        raise fail(str(error), 2) from None


@contextmanager
def _archive_errors() -> Iterator[None]:
    try:
        yield
    except (ArchiveError, ObjectStoreError) as error:
        raise fail(str(error)) from None


@app.command("seal")
def seal_command(
    *,
    segment_size: int = typer.Option(DEFAULT_SEGMENT_SIZE, min=1, help="Events per segment."),
    final: bool = typer.Option(
        False, "--final", help="Also seal the short tail; later seals start right after it."
    ),
    archive_id: str | None = ArchiveId,
    every: float = typer.Option(
        0,
        "--every",
        min=0,
        help="Seal again every this many seconds until stopped (SIGTERM/Ctrl-C); "
        "a failed pass is logged and retried. 0: seal once.",
    ),
    metrics_port: int = METRICS_PORT,
    log_json: bool = LOG_JSON,
) -> None:
    """Seal every full segment of unsealed events (resumable, idempotent)."""
    app = app_or_exit()
    archive = _archive(app, archive_id)
    observe_process(app, metrics_port=metrics_port, log_json=log_json)
    if not every:
        _seal_once(app, archive, segment_size=segment_size, final=final)
        return
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    while not stopping.is_set():
        try:
            _seal_once(app, archive, segment_size=segment_size, final=final)
        except Exception as error:  # a store or object store outage: the next pass resumes
            metrics.ARCHIVE_SEAL_FAILURES.inc()
            log.error("seal pass failed (%s); retrying in %.0f s", error or "see above", every)
        stopping.wait(every)


def _seal_once(app: App, archive: Archive, *, segment_size: int, final: bool) -> None:
    """One seal pass and its report; ``typer.Exit`` (after one line) when it cannot seal."""
    with (
        event_store(app) as store,
        _archive_errors(),
        progress_bar(on_stderr=True) as progress,
    ):
        unsealed = max(0, store.head() - archive.load_manifest().sealed_to)
        total = unsealed if final else unsealed - unsealed % segment_size
        task = progress.add_task("sealing", total=total)
        report = seal(
            store,
            archive,
            segment_size=segment_size,
            final=final,
            on_progress=lambda count: progress.advance(task, count),
            retain_until=app.settings.retention.until("segments", datetime.now(UTC)),
        )
    metrics.ARCHIVE_SEALED_TO.set(report.sealed_to)
    metrics.ARCHIVE_LAST_SEAL.set(time.time())
    log.info(
        "sealed %s events; sealed to %s of head %s", report.events, report.sealed_to, report.head
    )
    table = Table("segment", "positions", "events", "bytes", "chain hash", "how")
    table.columns[4].overflow = "fold"
    for how, entries in (("written", report.written), ("adopted", report.adopted)):
        for entry in entries:
            table.add_row(
                entry.key.rsplit("/", 1)[-1],
                f"{entry.first}-{entry.last}",
                str(entry.header.count),
                str(entry.size),
                entry.header.chain_hash,
                how,
            )
    if report.written or report.adopted:
        console.print(table)
    if report.written:
        until = report.retain_until
        console.print(
            "segments " + retention_note(archive.objects, until, "LH_RETENTION_SEGMENTS_DAYS"),
            highlight=False,
        )
    console.print(
        f"archive {report.archive_id!r}: sealed {report.events} events in this run; "
        f"sealed to {report.sealed_to} of head {report.head}"
    )
    if report.sealed_to:
        print_chain_hash(archive.load_manifest().last_hash)


@app.command("verify")
def verify_command(
    against_store: bool = typer.Option(
        False, "--against-store", help="Also compare sealed records with the event store."
    ),
    archive_id: str | None = ArchiveId,
) -> None:
    """Recompute every hash; exit 1 naming each bad segment and position."""
    app = app_or_exit()
    archive = _archive(app, archive_id)
    with (
        event_store(app, read_only=True) as store,
        _archive_errors(),
        progress_bar(on_stderr=True) as progress,
    ):
        task = progress.add_task("verifying", total=len(archive.load_manifest().segments))
        report = verify(
            archive,
            store=store if against_store else None,
            linked=store,
            on_segment=lambda _entry: progress.advance(task),
        )
    table = Table("archive", "segments", "events", "sealed to", "compared with store", "last hash")
    table.columns[5].overflow = "fold"
    table.add_row(
        report.archive_id,
        str(report.segments),
        str(report.events),
        str(report.sealed_to),
        str(report.compared) if against_store else "-",
        report.last_hash,
    )
    console.print(table)
    console.print(_history_line(report.history))
    for orphan in report.orphans:
        console.print(f"[yellow]orphan from an interrupted seal (next seal adopts it): {orphan}")
    if not report.ok:
        problems = Table("segment", "positions", "first bad position", "problem", style="red")
        for problem in report.problems:
            span = f"{problem.first}-{problem.last}" if problem.first is not None else "-"
            bad = str(problem.position) if problem.position is not None else "-"
            problems.add_row(problem.key, span, bad, problem.message)
        err_console.print(problems)
        raise fail(
            f"archive {report.archive_id!r} FAILS verification: {len(report.problems)} problem(s)"
        )
    if report.segments == 0:
        console.print(f"[yellow]archive {report.archive_id!r} holds no segments yet")
        return
    console.print("[green]archive verifies: every hash recomputes, the chain is unbroken")
    print_chain_hash(report.last_hash)


def _history_line(history: HistoryReport) -> str:
    """What the version check could prove on this object store."""
    if history.kept:
        return f"object versions checked: {history.keys} keys (replaced or deleted objects shown)"
    return (
        "[yellow]object versions not checked: this object store keeps no version history, so "
        "an object replaced in place cannot be told from the original (use a versioned or "
        "Object Lock bucket)"
    )


@app.command("restore")
def restore_command(
    *,
    to: str = typer.Option(..., "--to", help="EMPTY event store to rebuild (sqlite/redis URL)."),
    tail_from: str | None = typer.Option(
        None, "--tail-from", help="Store holding the unsealed tail (usually the old one)."
    ),
    to_prefix: str | None = typer.Option(None, help="Redis key prefix of the target."),
    tail_prefix: str | None = typer.Option(None, help="Redis key prefix of the tail store."),
    batch_size: int = typer.Option(5_000, min=1, help="Events per insert transaction."),
    archive_id: str | None = ArchiveId,
) -> None:
    """Rebuild an empty store from the archive (+ tail): same positions, same bytes."""
    app = app_or_exit()
    archive = _archive(app, archive_id)
    try:
        target = app.store_at(to, key_prefix=to_prefix)
        tail = app.store_at(tail_from, key_prefix=tail_prefix) if tail_from else None
    except ValueError as error:
        raise fail(str(error), 2) from None
    try:
        with _archive_errors(), progress_bar(on_stderr=True) as progress:
            sealed_to = archive.load_manifest().sealed_to
            total = max(sealed_to, tail.head() if tail else 0)
            task = progress.add_task("restoring", total=total)
            report = restore(
                archive,
                target,
                tail=tail,
                batch_size=batch_size,
                on_progress=lambda count: progress.advance(task, count),
            )
    finally:
        target.close()
        if tail is not None:
            tail.close()
    table = Table("target", "from archive", "from tail", "last position", "archive hash")
    table.columns[4].overflow = "fold"
    table.add_row(
        redact_url(to),
        str(report.archived),
        str(report.tail),
        str(report.last_position),
        report.archive_hash,
    )
    console.print(table)
    console.print("[green]restored and re-read: every record matches the source byte for byte")


@app.command("trim")
def trim_command(archive_id: str | None = ArchiveId) -> None:
    """Drop Redis events below the sealed position, after re-checking them against the archive."""
    app = app_or_exit()
    archive = _archive(app, archive_id)
    with event_store(app) as store, _archive_errors():
        try:
            report = trim(store, archive)
        except TrimNotSupportedError as error:
            console.print(f"[yellow]nothing to trim: {error}")
            return
    table = Table("trimmed below", "events removed", "events re-checked")
    table.add_row(str(report.below), str(report.removed), str(report.checked))
    console.print(table)


@app.command("status")
def status_command(
    archive_id: str | None = ArchiveId,
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object, with the full last chain hash."
    ),
) -> None:
    """How far the log is sealed, and what is still only in the event store."""
    app = app_or_exit()
    archive = _archive(app, archive_id)
    with event_store(app, read_only=True) as store, _archive_errors():
        status = archive_status(store, archive)
    if as_json:
        print(
            json.dumps(
                {
                    "archive_id": status.archive_id,
                    "object_store": status.object_store,
                    "sealed_to": status.sealed_to,
                    "head": status.head,
                    "unsealed": status.unsealed,
                    "store_from": status.store_first,
                    "segments": status.segments,
                    "last_hash": status.last_hash,
                }
            )
        )
        return
    table = Table(
        "archive",
        "object store",
        "sealed to",
        "head",
        "unsealed",
        "store from",
        "segments",
        "last hash",
    )
    table.columns[7].overflow = "fold"
    table.add_row(
        status.archive_id,
        status.object_store,
        str(status.sealed_to),
        str(status.head),
        str(status.unsealed),
        str(status.store_first) if status.store_first is not None else "-",
        str(status.segments),
        status.last_hash,
    )
    console.print(table)
    if status.segments:
        print_chain_hash(status.last_hash)


def print_chain_hash(chain_hash: str) -> None:
    """The full last chain hash on a line of its own (never cut or wrapped, at any width):
    the audit runbook asks to record it outside the system."""
    console.print(
        f"last chain hash (record it outside the system): {chain_hash}",
        soft_wrap=True,
        highlight=False,
    )
