"""`lh audit`: answer an auditor from the log — causation chains, state at an instant, and
whether the log is intact (`verify`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import app_or_exit, console, event_store, fail
from api.cli.projections import opened_read_models, read_model_results
from api.cli.store import envelope
from domain.events.envelope import to_microseconds
from domain.orders import is_terminal
from infra.archive.anchors import AnchorConflictError, read_anchors, write_anchor
from infra.archive.history import HistoryReport
from infra.archive.retention import retention_note
from projections.integrity import (
    check_read_models,
    verify_archive_history,
    verify_archive_link,
    verify_log,
)
from projections.queries.audit import (
    AuditTargetNotFoundError,
    Clock,
    iter_chain_summary,
    state_at,
    trace,
)

app = typer.Typer(help="Audit replay straight from the event log.", no_args_is_help=True)


@app.command("trace")
def trace_command(
    fill: str | None = typer.Option(None, "--fill", help="A fill id (FillRecorded.fill_id)."),
    order: str | None = typer.Option(None, "--order", help="An order id: trace its last event."),
    event: str | None = typer.Option(None, "--event", help="Any event id."),
    as_json: bool = typer.Option(False, "--json", help="Print the chain as JSON."),
) -> None:
    """Walk an event's causation chain back to its root (fill -> order -> decision -> signal)."""
    with event_store(app_or_exit(), read_only=True) as store:
        try:
            chain = trace(store, fill_id=fill, order_id=order, event_id=event)
        except (AuditTargetNotFoundError, ValueError) as error:
            raise fail(str(error), 2) from None
    if as_json:
        print(json.dumps([envelope(e) for e in chain], indent=2))
        return
    table = Table(
        "pos",
        "event time",
        "type",
        "stream",
        "actor",
        "facts",
        "hash",
        title="Causation chain (effect first); every payload hash re-verified",
    )
    for row in iter_chain_summary(chain):
        table.add_row(*row)
    console.print(table)


CLOCK_HELP = (
    "event: when things happened (bar time of a backtest, venue time live); "
    "recorded: what the log held at that wall-clock instant."
)

CLOCK_MEANING = {
    Clock.EVENT: "event time: bar time in a backtest, venue time live",
    Clock.RECORDED: "recorded time: what the log held then",
}


@app.command("state")
def state_command(
    at: Annotated[datetime, typer.Option("--at", help="ISO 8601 instant (UTC if no offset).")],
    clock: Annotated[Clock, typer.Option("--clock", help=CLOCK_HELP)] = Clock.EVENT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Positions, open orders and cash exactly as they stood at an instant (event or recorded
    time)."""
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    with event_store(app_or_exit(), read_only=True) as store:
        found = state_at(store, to_microseconds(moment), clock)
    state = found.state
    open_orders = {k: v for k, v in state.orders.items() if not is_terminal(v.status)}
    if as_json:
        print(
            json.dumps(
                {
                    "at": moment.isoformat(),
                    "clock": clock.value,
                    "events": found.events,
                    "position": state.head,
                    "positions": [
                        {"account": a, "strategy": s, "symbol": y, "quantity": str(q)}
                        for (a, s, y), q in sorted(state.positions.items())
                    ],
                    "cash": [
                        {"account": a, "currency": c, "amount": str(v)}
                        for (a, c), v in sorted(state.cash.items())
                    ],
                    "open_orders": sorted(open_orders),
                    "risk_decisions": {
                        "total": state.risk_decisions,
                        "approved": state.approved,
                        "rejected": state.rejected,
                    },
                },
                indent=2,
            )
        )
        return
    console.print(
        f"As at {moment.isoformat()} on the {clock.value} clock ({CLOCK_MEANING[clock]}): "
        f"{found.events} events, the last at log position {state.head}"
    )
    positions = Table("account", "strategy", "symbol", "quantity", title="Positions")
    for (account, strategy, symbol), quantity in sorted(state.positions.items()):
        positions.add_row(account, strategy, symbol, str(quantity))
    cash = Table("account", "currency", "cash", title="Cash")
    for (account, currency), amount in sorted(state.cash.items()):
        cash.add_row(account, currency, str(amount))
    console.print(positions, cash)
    console.print(
        f"open orders: {len(open_orders)}; risk decisions: {state.risk_decisions} "
        f"({state.approved} approved, {state.rejected} rejected)"
    )


def _verify(as_json: bool, first: int, last: int | None, *, log_only: bool = False) -> None:
    if first < 1 or (last is not None and last < first):
        raise fail(f"--from {first} --to {last}: give 1 <= --from <= --to", 2)
    app = app_or_exit()
    with (
        event_store(app, read_only=True) as store,
        Progress(console=console, transient=True) as progress,
    ):
        store.check_readable()  # a log that cannot be read is the first thing to say
        archive = app.archive()
        try:
            anchors = read_anchors(archive.objects, archive.archive_id)
        except ValueError as error:
            raise fail(str(error), 1) from None
        task = progress.add_task("verifying the log", total=None)
        report = verify_log(
            store,
            first=first,
            last=last,
            anchors=anchors,
            progress=lambda done, upto: progress.update(task, completed=done, total=upto),
        )
        report.findings += verify_archive_link(store, archive, first=first, last=last)
        history, found = verify_archive_history(archive)
        report.findings += found
    if not log_only:
        with opened_read_models(app, None, read_only=True) as (store, projections):
            check_read_models(report, read_model_results(app, store, projections))
    if as_json:
        versions = {"checked": history.kept, "keys": history.keys}
        print(json.dumps({**report.as_dict(), "archive_versions": versions}, indent=2))
    elif report.ok:
        head_hash = report.head_chain_hash.hex() if report.head_chain_hash else "none"
        console.print(
            f"[green]{report.events} events, positions {report.first}..{report.last} "
            f"(head {report.head}): contiguous, stream versions continuous, event, fill and "
            "order ids unique, every payload hash, event hash and chain link verifies, "
            f"the chain passes through {report.anchors} anchor(s) and the archive"
            + ("" if log_only else ", and every read model built matches the log")
            + "[/green]"
        )
        console.print(_versions_line(history))
        print(f"chain hash at position {report.last}: {head_hash}")
    else:
        table = Table(
            "position", "problem", "expected", "found", title=f"{len(report.findings)} findings"
        )
        for finding in report.findings:
            table.add_row(str(finding.position), finding.problem, finding.expected, finding.found)
        console.print(table)
    if not report.ok:
        raise typer.Exit(1)


def _versions_line(history: HistoryReport) -> str:
    """What the archive's object store let the version check prove."""
    if history.kept:
        return f"archive object versions checked: {history.keys} keys, none replaced or hidden"
    return (
        "[yellow]archive object versions not checked: the object store keeps no version "
        "history (a versioned or Object Lock bucket does)[/yellow]"
    )


FROM_HELP = "First position to check (default 1)."
TO_HELP = "Last position to check (default: the head)."
LOG_ONLY_HELP = "Skip the read models (their check folds the whole log once more)."


@app.command("verify")
def verify_command(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    first: int = typer.Option(1, "--from", help=FROM_HELP),
    last: int | None = typer.Option(None, "--to", help=TO_HELP),
    log_only: bool = typer.Option(False, "--log-only", help=LOG_ONLY_HELP),
) -> None:
    """Prove the log intact: contiguous positions, stream versions, unique event, fill and
    order ids, every payload hash, event hash and chain link, the anchors, the archive, its
    object versions and its link to the live chain, and every read model against the log;
    exit 1 with one finding per problem."""
    _verify(as_json, first, last, log_only=log_only)


@app.command("anchor")
def anchor_command() -> None:
    """Anchor the chain: write the head's chain hash to the object store (write-once, retained
    by S3 Object Lock where the bucket has it) and print it in full, to be kept outside the
    system. Run `lh audit verify` first."""
    app = app_or_exit()
    with event_store(app) as store:
        head = store.head()
        found = next(store.read_chain(head - 1, stop=head), []) if head else []
    if not found:
        raise fail(
            f"position {head} has no chain hash to anchor: "
            + ("the log is empty" if not head else "run `lh audit verify` to see why"),
            1 if head else 2,
        )
    position, chain_hash = found[-1]
    archive = app.archive()
    until = app.settings.retention.until("anchors", datetime.now(UTC))
    try:
        key, created = write_anchor(
            archive.objects, archive.archive_id, position, chain_hash, retain_until=until
        )
    except AnchorConflictError as error:
        raise fail(str(error), 1) from None
    console.print(f"anchored position {position} at {archive.objects.url} {key}")
    note = retention_note(archive.objects, until, "LH_RETENTION_ANCHORS_DAYS")
    console.print(
        "anchor " + (note if created else "already written by an earlier run, unchanged"),
        highlight=False,
    )
    print(f"anchor (record it outside the system): position {position} chain {chain_hash.hex()}")


@app.command("hashes", hidden=True)
def hashes_command() -> None:
    """Alias of `lh audit verify --log-only` (it used to check payload hashes only; it stays a
    check of the log alone, which opens no read model and so writes nothing)."""
    _verify(False, 1, None, log_only=True)
