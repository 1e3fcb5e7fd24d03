"""``/risk`` and the operator commands. Reads come from the SQL read model; each command is
``api.application.control.request_command`` with the key's owner as the operator, exactly
what ``lh ctl`` sends: the session applies it at its next step and records the outcome."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

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
from api.application.control import ControlError, find_run, request_command
from api.application.run_status import run_status
from api.http.auth import Admin, Context, Trader, Viewer
from api.http.context import HttpContext
from api.http.encoding import micros, plain
from api.http.models import CancelBody, CommandAccepted, KillSwitchBody, LimitBody, TradingStateBody
from api.http.pagination import DEFAULT_LIMIT, Page, paginate
from api.http.problems import ProblemError
from api.http.routes.trading import Cursor, Limit, Name
from projections.queries.current_state import (
    kill_switch_log,
    risk_decisions,
    risk_limits,
    strategy_runs,
    trading_state,
)

router = APIRouter(tags=["risk"])
RunPath = Annotated[str, Path(min_length=1, max_length=128)]
ACCEPTED = status.HTTP_202_ACCEPTED


def send(lh: HttpContext, run: str, command: Command) -> CommandAccepted:
    """Append the request to the run's control stream (404 unknown run, 409 ended run)."""
    with lh.store(read_only=False) as store:
        try:
            target = find_run(store, run)
        except ControlError as error:
            raise ProblemError(404, "Unknown run", str(error)) from None
        try:
            request_id = request_command(store, target, command)
        except ControlError as error:
            raise ProblemError(409, "The run takes no requests", str(error)) from None
    return CommandAccepted(request_id=request_id, run_id=target.run_id, operator=command.operator)


def _bad(error: CommandError) -> ProblemError:
    return ProblemError(422, "Invalid request", str(error))


@router.post("/risk/kill-switch", status_code=ACCEPTED)
def kill_switch(body: KillSwitchBody, lh: Context, principal: Trader) -> CommandAccepted:
    """Engage (stop all trading, cancel working orders) or release a run's kill switch."""
    who = {"operator": principal.owner, "reason": body.reason}
    command = EngageKillSwitch(**who) if body.action == "engage" else ReleaseKillSwitch(**who)
    return send(lh, body.run, command)


@router.post("/risk/trading-state", status_code=ACCEPTED)
def set_state(body: TradingStateBody, lh: Context, principal: Trader) -> CommandAccepted:
    """Move a run's account to ACTIVE, REDUCING or HALTED."""
    try:
        state = parse_state(body.state)
    except CommandError as error:
        raise _bad(error) from None
    return send(
        lh, body.run, SetTradingState(state=state, operator=principal.owner, reason=body.reason)
    )


@router.post("/risk/limits", status_code=ACCEPTED)
def change_limit(body: LimitBody, lh: Context, principal: Admin) -> CommandAccepted:
    """Change one risk limit of a running session (names and bounds: ``lh limits list``)."""
    try:
        check_limit(body.name, body.value)
    except CommandError as error:
        raise _bad(error) from None
    command = ChangeRiskLimit(
        name=body.name, value=body.value, operator=principal.owner, reason=body.reason
    )
    return send(lh, body.run, command)


@router.post("/orders/{order_id}/cancel", status_code=ACCEPTED)
def cancel_order(
    order_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: CancelBody,
    lh: Context,
    principal: Trader,
) -> CommandAccepted:
    """Cancel one working order of a run."""
    command = CancelOrder(order_id=order_id, operator=principal.owner, reason=body.reason)
    return send(lh, body.run, command)


@router.get("/runs/{run}/status")
def get_run_status(run: RunPath, lh: Context, principal: Viewer) -> dict[str, Any]:
    """A run as its log tells it now (``lh ctl status``): trading state, kill switch, limits
    changed, open orders, the requests it has not applied yet."""
    with lh.store() as store:
        try:
            found = run_status(store, find_run(store, run))
        except (ControlError, LookupError) as error:
            raise ProblemError(404, "Unknown run", str(error)) from None
    return {
        "run_id": found.run_id,
        "mode": found.mode,
        "account": found.account,
        "ended": found.ended or None,
        "trading_state": found.trading_state.value,
        "kill_switch_engaged": found.kill_switch_engaged,
        "limits_changed": found.limits,
        "open_orders": plain(found.open_orders),
        "events": found.events,
        "last_event_time": micros(found.last_event_us),
        "equity": plain(found.equity),
        "pending_requests": [
            {
                "request_id": item.request_id,
                "command": item.command,
                "arguments": item.arguments,
                "operator": item.operator,
                "reason": item.reason,
                "requested_at": micros(item.requested_at_us),
            }
            for item in found.pending
        ],
    }


@router.get("/risk/metrics")
def metrics(lh: Context, principal: Viewer, account: Name = None) -> dict[str, Any]:
    """Per account: trading state, kill switch, limits in force, recent decisions."""
    engine = lh.sql()
    accounts: dict[str, dict[str, Any]] = {}
    names = [account] if account else sorted({row["account"] for row in strategy_runs(engine)})
    for row in (trading_state(engine, name) for name in names):
        if row is not None:
            accounts.setdefault(row["account"], {})["trading"] = plain(row)
    for row in risk_limits(engine, account=account):
        entry = accounts.setdefault(row["account"], {})
        entry.setdefault("limits", {})[row["limit_name"]] = row["value"]
    decisions = risk_decisions(engine, account=account, limit=1_000, with_rules=False)
    for row in decisions:
        entry = accounts.setdefault(row["account"], {})
        counts = entry.setdefault("recent_decisions", {"approved": 0, "rejected": 0})
        counts["approved" if row["approved"] else "rejected"] += 1
    return {"accounts": accounts}


@router.get("/risk/alerts")
def alerts(
    lh: Context,
    principal: Viewer,
    account: Name = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page:
    """Rejected risk decisions and kill-switch/trading-state changes, newest first."""
    engine = lh.sql()

    def fetch(count: int) -> list[dict[str, Any]]:
        rejected = risk_decisions(engine, account=account, approved=False, limit=count)
        found = [{"kind": "risk_rejection"} | row for row in rejected]
        found += [
            {"kind": "kill_switch_log"} | row for row in kill_switch_log(engine, account=account)
        ]
        found.sort(key=lambda row: row["position"], reverse=True)
        return found[:count]

    return paginate(
        fetch, limit=limit, cursor=cursor, filters={"account": account}, encode_row=plain
    )
