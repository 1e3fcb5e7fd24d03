"""What an operator needs to know about a run before and after steering it (``lh ctl status``),
folded straight from the log: no read model, so it is exact at any moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from api.application.control import RunTarget, pending_requests
from api.application.recorded_run import read_run
from domain.events.catalog import (
    KillSwitchEngaged,
    KillSwitchReleased,
    OperatorCommandRequested,
    RiskLimitsChanged,
    TradingStateChanged,
)
from domain.events.streams import run_stream
from domain.events.types import TradingState
from infra.eventstore.store import EventStore


@dataclass(frozen=True)
class PendingRequest:
    request_id: str
    command: str
    arguments: dict[str, str]
    operator: str
    reason: str
    requested_at_us: int


@dataclass(frozen=True)
class RunStatus:
    """A run as its log tells it now. ``limits`` holds only the limits operators changed
    (the run's starting limits are in its config, not in the log); ``events`` is how many
    events the run recorded, ``last_event_us`` when its latest run-stream event happened."""

    run_id: str
    mode: str
    account: str
    ended: str
    trading_state: TradingState
    kill_switch_engaged: bool
    limits: dict[str, str]
    open_orders: dict[str, Decimal]
    events: int
    last_event_us: int
    equity: Decimal | None
    pending: list[PendingRequest] = field(default_factory=list)


def run_status(store: EventStore, target: RunTarget) -> RunStatus:
    recorded = read_run(store, target.run_id)
    if recorded is None:  # find_run found its start: only a store emptied since says this
        raise LookupError(f"no run {target.run_id!r} in the event store")
    state, engaged, limits = TradingState.ACTIVE, False, {}
    for _, command in recorded.commands:
        if isinstance(command, TradingStateChanged):
            state = command.new_state
        elif isinstance(command, KillSwitchEngaged | KillSwitchReleased):
            engaged = isinstance(command, KillSwitchEngaged)
        elif isinstance(command, RiskLimitsChanged):
            limits[command.limit] = command.new_value
    last = store.read_stream(run_stream(target.run_id))[-1]
    pending = [
        PendingRequest(
            request.request_id,
            request.command,
            request.arguments,
            request.operator,
            request.reason,
            event.event_time_us,
        )
        for event in pending_requests(store, target.run_id, recorded.causes)
        if isinstance(request := event.payload, OperatorCommandRequested)
    ]
    valuation = recorded.last_valuation
    return RunStatus(
        run_id=target.run_id,
        mode=target.mode.value,
        account=target.account,
        ended=target.ended,
        trading_state=state,
        kill_switch_engaged=engaged,
        limits=limits,
        open_orders=dict(sorted(recorded.open_orders.items())),
        events=recorded.events,
        last_event_us=last.event_time_us,
        equity=None if valuation is None else valuation.equity,
        pending=pending,
    )
