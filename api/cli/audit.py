"""`lh audit`: answer an auditor from the log — causation chains, state at an instant, hashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from api.cli.common import console, event_store, fail
from api.cli.store import envelope
from domain.events.envelope import to_microseconds
from projections.audit import (
    AuditTargetNotFoundError,
    Clock,
    iter_chain_summary,
    state_at,
    trace,
    verify_hashes,
)
from projections.state import TERMINAL_STATUSES

app = typer.Typer(help="Audit replay straight from the event log.", no_args_is_help=True)


@app.command("trace")
def trace_command(
    fill: str | None = typer.Option(None, "--fill", help="A fill id (FillRecorded.fill_id)."),
    order: str | None = typer.Option(None, "--order", help="An order id: trace its last event."),
    event: str | None = typer.Option(None, "--event", help="Any event id."),
    as_json: bool = typer.Option(False, "--json", help="Print the chain as JSON."),
) -> None:
    """Walk an event's causation chain back to its root (fill -> order -> decision -> signal)."""
    with event_store(read_only=True) as store:
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
    with event_store(read_only=True) as store:
        found = state_at(store, to_microseconds(moment), clock)
    state = found.state
    open_orders = {k: v for k, v in state.orders.items() if v.status not in TERMINAL_STATUSES}
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


@app.command("hashes")
def hashes_command() -> None:
    """Recompute every payload's sha256 and compare with the recorded hash; exit 1 on any."""
    with (
        event_store(read_only=True) as store,
        Progress(console=console, transient=True) as progress,
    ):
        task = progress.add_task("verifying payload hashes", total=store.head() or None)
        report = verify_hashes(
            store, progress=lambda done, head: progress.update(task, completed=done, total=head)
        )
    if report.ok:
        console.print(
            f"[green]{report.checked} events, positions {report.first_position}.."
            f"{report.last_position}: every payload hash verifies[/green]"
        )
        return
    table = Table("position", "problem", title=f"{len(report.bad)} events fail their hash")
    for position, reason in report.bad:
        table.add_row(str(position), reason)
    console.print(table)
    raise typer.Exit(1)
