"""Operator commands as values, and their form in the control stream.

A command says what an operator wants a running session to do; ``api.application.handlers``
says how the session does it. ``lh ctl`` builds one from its arguments (``check`` refuses a
bad one before anything is appended) and records it as ``OperatorCommandRequested``;
the session turns the request back into the same command with ``from_request``.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.events.catalog import OperatorCommandRequested
from domain.events.types import TradingState
from domain.risk.limits import LimitValueError, RiskLimits


class CommandError(ValueError):
    """A request that names no known command or carries a value the command cannot take."""


@dataclass(frozen=True, kw_only=True)
class Command:
    operator: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class EngageKillSwitch(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class ReleaseKillSwitch(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class SetTradingState(Command):
    state: TradingState


@dataclass(frozen=True, kw_only=True)
class ChangeRiskLimit(Command):
    name: str
    value: str


@dataclass(frozen=True, kw_only=True)
class CancelOrder(Command):
    order_id: str


def parse_state(text: str) -> TradingState:
    """``ACTIVE``, ``REDUCING`` or ``HALTED`` (any case)."""
    try:
        return TradingState(text.strip().upper())
    except ValueError:
        known = ", ".join(state.value for state in TradingState)
        raise CommandError(f"unknown trading state {text!r} (known: {known})") from None


def check_limit(name: str, value: str) -> None:
    """Refuse a limit name ``RiskLimits`` does not have or a value outside its bounds (the
    bounds of ``domain.values``), judged against the default limits: a value that passes
    here can still be refused by the run (recorded as ``OperatorCommandRejected``)."""
    try:
        RiskLimits().changed(name, value)
    except LimitValueError as error:
        raise CommandError(str(error)) from None


def kind_of(command: Command) -> tuple[str, dict[str, str]]:
    """The command's name and arguments as ``OperatorCommandRequested`` records them."""
    match command:
        case EngageKillSwitch():
            return "kill-switch-engage", {}
        case ReleaseKillSwitch():
            return "kill-switch-release", {}
        case SetTradingState(state=state):
            return "state", {"state": state.value}
        case ChangeRiskLimit(name=name, value=value):
            return "limit", {"name": name, "value": value}
        case CancelOrder(order_id=order_id):
            return "cancel", {"order_id": order_id}
    raise CommandError(f"{type(command).__name__} is not an operator command")


def from_request(request: OperatorCommandRequested) -> Command:
    """The command a recorded request asks for; ``CommandError`` if it names none (a request
    written by hand or by a newer version)."""
    who = {"operator": request.operator, "reason": request.reason}
    args = request.arguments
    try:
        match request.command:
            case "kill-switch-engage":
                return EngageKillSwitch(**who)
            case "kill-switch-release":
                return ReleaseKillSwitch(**who)
            case "state":
                return SetTradingState(state=parse_state(args["state"]), **who)
            case "limit":
                return ChangeRiskLimit(name=args["name"], value=args["value"], **who)
            case "cancel":
                return CancelOrder(order_id=args["order_id"], **who)
    except KeyError as missing:
        raise CommandError(f"request {request.command} lacks its argument {missing}") from None
    raise CommandError(f"unknown operator command {request.command!r}")
