"""`lh ctl`: steer a running paper session. Each command appends a request to the run's control
stream; the session applies it at its next step (within a second) and records the outcome,
caused by the request. A session that is down applies it when it starts again."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import typer
from rich.table import Table

from api.application.commands import (
    CancelOrder,
    ChangeRiskLimit,
    Command,
    CommandError,
    EngageKillSwitch,
    ReleaseKillSwitch,
    SetTradingState,
    check_limit,
    parse_state,
)
from api.application.control import LATEST, ControlError, find_run, request_command
from api.application.run_status import RunStatus, run_status
from api.cli.common import BAD_INPUT, app_or_exit, console, event_store, fail
from domain.events.envelope import from_microseconds

app = typer.Typer(
    help="Steer a running paper session (kill switch, trading state, limits, cancels).",
    no_args_is_help=True,
)

RunOption = typer.Option(..., "--run", help=f"Run id, or {LATEST!r} for the last run started.")
OperatorOption = typer.Option(..., "--operator", help="Who asks (recorded as the actor).")
ReasonOption = typer.Option(..., "--reason", help="Why (recorded with the request).")
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object.")
KILL_SWITCH_ACTIONS = ("engage", "release")


@app.command("kill-switch")
def kill_switch(
    action: str = typer.Argument(..., help="engage or release"),
    run: str = RunOption,
    operator: str = OperatorOption,
    reason: str = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Engage (stop all trading, cancel working orders) or release the run's kill switch."""
    who = _who(operator, reason)
    if action not in KILL_SWITCH_ACTIONS:
        raise fail(f"kill-switch takes engage or release, got {action!r}", BAD_INPUT)
    command = EngageKillSwitch(**who) if action == "engage" else ReleaseKillSwitch(**who)
    _send(run, command, as_json)


@app.command("state")
def state(
    new_state: str = typer.Argument(..., metavar="STATE", help="ACTIVE, REDUCING or HALTED"),
    run: str = RunOption,
    operator: str = OperatorOption,
    reason: str = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Move the run's account to ACTIVE, REDUCING (only orders that shrink a position) or
    HALTED."""
    who = _who(operator, reason)
    try:
        command = SetTradingState(state=parse_state(new_state), **who)
    except CommandError as error:
        raise fail(str(error), BAD_INPUT) from None
    _send(run, command, as_json)


@app.command("limit")
def limit(
    assignment: str = typer.Argument(..., metavar="NAME=VALUE", help="e.g. max_position=5"),
    run: str = RunOption,
    operator: str = OperatorOption,
    reason: str = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Change one risk limit of the run (names and bounds: `lh limits list`)."""
    who = _who(operator, reason)
    name, sep, value = assignment.partition("=")
    name, value = name.strip(), value.strip()
    try:
        if not sep or not name or not value:
            raise CommandError(f"give the limit as NAME=VALUE, got {assignment!r}")
        check_limit(name, value)
    except CommandError as error:
        raise fail(str(error), BAD_INPUT) from None
    _send(run, ChangeRiskLimit(name=name, value=value, **who), as_json)


@app.command("cancel")
def cancel(
    order_id: str = typer.Argument(..., metavar="ORDER_ID"),
    run: str = RunOption,
    operator: str = OperatorOption,
    reason: str = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Cancel one working order of the run (`lh ctl status` lists them)."""
    who = _who(operator, reason)
    if not order_id.strip():
        raise fail("give the id of the order to cancel", BAD_INPUT)
    _send(run, CancelOrder(order_id=order_id.strip(), **who), as_json)


@app.command("status")
def status(run: str = RunOption, as_json: bool = JsonOption) -> None:
    """The run's trading state, kill switch, changed limits, open orders, progress and the
    requests it has not applied yet, read from the log."""
    with event_store(app_or_exit(), read_only=True) as store:
        try:
            found = run_status(store, find_run(store, run))
        except ControlError as error:
            raise fail(str(error), BAD_INPUT) from None
    if as_json:
        print(json.dumps(_status_json(found)))
        return
    _print_status(found)


def _who(operator: str, reason: str) -> dict[str, str]:
    if not operator.strip():
        raise fail("--operator must name who asks", BAD_INPUT)
    if not reason.strip():
        raise fail("--reason must say why", BAD_INPUT)
    return {"operator": operator.strip(), "reason": reason.strip()}


def _send(run: str, command: Command, as_json: bool) -> None:
    with event_store(app_or_exit()) as store:
        try:
            target = find_run(store, run)
            request_id = request_command(store, target, command)
        except ControlError as error:
            raise fail(str(error), BAD_INPUT) from None
    if as_json:
        print(json.dumps({"request_id": request_id, "run_id": target.run_id}))
        return
    console.print(
        f"request {request_id} sent to run {target.run_id}; the session applies it at its "
        "next step (see `lh ctl status`)"
    )


def _time(micros: int) -> str:
    return from_microseconds(micros).isoformat().replace("+00:00", "Z")


def _status_json(found: RunStatus) -> dict[str, Any]:
    return {
        "run_id": found.run_id,
        "mode": found.mode,
        "account": found.account,
        "ended": found.ended or None,
        "trading_state": found.trading_state.value,
        "kill_switch_engaged": found.kill_switch_engaged,
        "limits_changed": found.limits,
        "open_orders": {order: str(leaves) for order, leaves in found.open_orders.items()},
        "events": found.events,
        "last_event_time": _time(found.last_event_us),
        "equity": None if found.equity is None else str(found.equity),
        "pending_requests": [
            asdict(request) | {"requested_at": _time(request.requested_at_us)}
            for request in found.pending
        ],
    }


def _print_status(found: RunStatus) -> None:
    table = Table("", "", title=f"run {found.run_id} ({found.mode})", show_header=False)
    table.add_row("account", found.account)
    table.add_row("session", found.ended or "open (takes requests)")
    table.add_row("trading state", found.trading_state.value)
    table.add_row("kill switch", "ENGAGED" if found.kill_switch_engaged else "released")
    changed = ", ".join(f"{name}={value}" for name, value in found.limits.items())
    table.add_row("limits changed", changed or "none")
    orders = ", ".join(f"{order} ({leaves} left)" for order, leaves in found.open_orders.items())
    table.add_row("open orders", orders or "none")
    table.add_row("events recorded", f"{found.events}, the last at {_time(found.last_event_us)}")
    table.add_row("equity", "not valued yet" if found.equity is None else str(found.equity))
    pending = ", ".join(f"{r.request_id} {r.command} by {r.operator}" for r in found.pending)
    table.add_row("pending requests", pending or "none")
    console.print(table)
