"""Operator commands on a running engine: kill switch, trading state, limits, order cancels.

Each records its outcome with the operator as the actor (caused by the operator's request
event when it came through the control stream) and flushes at once: a command is a
fact of its own, not part of a bar time (recovery re-applies it where it was recorded).
"""

from __future__ import annotations

from domain.engine.orders import OrderManager
from domain.engine.recorder import Recorder
from domain.events.types import CancelOrigin, TradingState
from domain.risk.engine import RiskEngine


class OperatorControls:
    """The operator's levers on one run's risk engine and open orders."""

    def __init__(
        self, *, run_stream: str, risk: RiskEngine, recorder: Recorder, orders: OrderManager
    ) -> None:
        self._run_stream = run_stream
        self._risk = risk
        self._recorder = recorder
        self._orders = orders

    def engage_kill_switch(self, *, operator: str, reason: str, cause: str | None) -> None:
        """Stop all trading and cancel every working order, with who and why on record."""
        event = self._risk.engage_kill_switch(operator=operator, reason=reason)
        engaged = self._recorder.record(
            self._run_stream, event, self._recorder.operator(operator), cause
        )
        self._orders.cancel_all(
            f"kill switch: {reason}",
            requested_by=operator,
            origin=CancelOrigin.KILL_SWITCH,
            cause=engaged,
        )
        self._recorder.journal.flush()

    def release_kill_switch(self, *, operator: str, reason: str, cause: str | None) -> None:
        event = self._risk.release_kill_switch(operator=operator, reason=reason)
        self._recorder.record(self._run_stream, event, self._recorder.operator(operator), cause)
        self._recorder.journal.flush()

    def set_trading_state(
        self, state: TradingState, *, operator: str, reason: str, cause: str | None
    ) -> None:
        event = self._risk.set_trading_state(state, operator=operator, reason=reason)
        self._recorder.record(self._run_stream, event, self._recorder.operator(operator), cause)
        self._recorder.journal.flush()

    def change_limit(
        self, name: str, value: str, *, operator: str, reason: str, cause: str | None
    ) -> None:
        event = self._risk.change_limit(name, value, operator=operator, reason=reason)
        self._recorder.record(self._run_stream, event, self._recorder.operator(operator), cause)
        self._recorder.journal.flush()

    def cancel_order(self, order_id: str, *, operator: str, reason: str, cause: str | None) -> None:
        """Cancel one open order on an operator's request (``StrategyError`` if not open);
        the request is caused by ``cause`` (the operator's request event) when given."""
        self._orders.cancel(
            order_id,
            reason=reason,
            requested_by=operator,
            origin=CancelOrigin.OPERATOR,
            actor=self._recorder.operator(operator),
            cause=cause,
        )
        self._recorder.journal.flush()
