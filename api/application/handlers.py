"""How a running session carries out each operator command: one small handler per command
class (``COMMAND_HANDLERS``), each a call to the engine's public operator methods.

``handle`` turns what the engine refuses (a kill switch already engaged, an order that is not
open, a limit out of bounds) into ``CommandRejectedError``; the engine records nothing then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.application.commands import (
    CancelOrder,
    ChangeRiskLimit,
    Command,
    EngageKillSwitch,
    ReleaseKillSwitch,
    SetTradingState,
)
from domain.engine.engine import TradingEngine
from domain.risk import RiskCommandError
from domain.strategy import StrategyError

Handler = Callable[[Any, TradingEngine, str | None], None]


class CommandRejectedError(ValueError):
    """The engine cannot apply the command in its present state; nothing was recorded."""


def engage_kill_switch(command: EngageKillSwitch, engine: TradingEngine, cause: str | None) -> None:
    engine.engage_kill_switch(operator=command.operator, reason=command.reason, cause=cause)


def release_kill_switch(
    command: ReleaseKillSwitch, engine: TradingEngine, cause: str | None
) -> None:
    engine.release_kill_switch(operator=command.operator, reason=command.reason, cause=cause)


def set_trading_state(command: SetTradingState, engine: TradingEngine, cause: str | None) -> None:
    engine.set_trading_state(
        command.state, operator=command.operator, reason=command.reason, cause=cause
    )


def change_risk_limit(command: ChangeRiskLimit, engine: TradingEngine, cause: str | None) -> None:
    engine.change_limit(
        command.name, command.value, operator=command.operator, reason=command.reason, cause=cause
    )


def cancel_order(command: CancelOrder, engine: TradingEngine, cause: str | None) -> None:
    engine.cancel_order(
        command.order_id,
        reason=command.reason,
        requested_by=command.operator,
        cause=cause,
    )


COMMAND_HANDLERS: dict[type[Command], Handler] = {
    EngageKillSwitch: engage_kill_switch,
    ReleaseKillSwitch: release_kill_switch,
    SetTradingState: set_trading_state,
    ChangeRiskLimit: change_risk_limit,
    CancelOrder: cancel_order,
}


def handle(command: Command, engine: TradingEngine, *, cause: str | None = None) -> None:
    """Carry ``command`` out on ``engine``; ``CommandRejectedError`` if it cannot apply."""
    try:
        COMMAND_HANDLERS[type(command)](command, engine, cause)
    except (RiskCommandError, StrategyError) as error:
        raise CommandRejectedError(str(error)) from None
