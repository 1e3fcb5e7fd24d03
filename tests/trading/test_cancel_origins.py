"""Every cancel request says why it was made (``OrderCancelRequested.origin``), and an
operator's cancel is re-applied in place when its run resumes after a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.application.commands import CancelOrder
from api.application.control import find_run, request_command
from api.application.paper import run_paper
from api.application.recorded_run import read_run
from domain.events.catalog import OrderCanceled, OrderCancelRequested, RunFailed
from domain.events.types import ActorKind, CancelOrigin
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.trading.test_engine import RestingBuyer, engine_with, payloads
from tests.trading.test_recovery import RUN_ID, config
from tests.trading.test_recovery import payloads as logged


def origins(events: list) -> list[CancelOrigin]:  # type: ignore[type-arg]
    return [e.payload.origin for e in payloads(events, OrderCancelRequested)]


def test_each_way_to_cancel_records_its_origin() -> None:
    strategy = RestingBuyer()
    engine, sink, groups = engine_with(strategy)
    engine.process(groups[0])
    [order_id] = engine.orders
    strategy.ctx.cancel_order(order_id)
    strategy.tickets.clear()  # the buyer places a new resting order at its next bar
    engine.process(groups[1])
    [order_id] = engine.orders
    engine.cancel_order(order_id, reason="fat finger", requested_by="bob")
    assert origins(sink.events) == [CancelOrigin.STRATEGY, CancelOrigin.OPERATOR]
    operator_request = payloads(sink.events, OrderCancelRequested)[-1]
    assert (operator_request.actor.kind, operator_request.actor.name) == (ActorKind.OPERATOR, "bob")
    assert engine.journal.pending == []  # a command is on record at once

    strategy.tickets.clear()
    engine.process(groups[2])
    engine.engage_kill_switch(operator="alice", reason="drill")
    engine.release_kill_switch(operator="alice", reason="over")
    strategy.tickets.clear()
    engine.process(groups[3])
    engine.stop("done")
    assert origins(sink.events)[2:] == [CancelOrigin.KILL_SWITCH, CancelOrigin.RUN_STOPPED]
    assert len(payloads(sink.events, OrderCanceled)) == 4

    strategy = RestingBuyer()
    engine, sink, groups = engine_with(strategy)
    engine.process(groups[0])
    engine.fail(RunFailed(run_id="r", error_type="E", message="m", resumable=False))
    assert origins(sink.events) == [CancelOrigin.RUN_FAILED]


class CrashError(Exception):
    pass


def test_an_operator_cancel_survives_a_crash_and_resume(tmp_path: Path) -> None:
    """An operator's cancel sent through the run's control stream (from the progress
    callback, as `lh ctl cancel` would from another process) is re-applied in place."""
    plan: dict[str, str] = {}

    def steer(store: EventStore, crash_at: int | None) -> Callable[[int, int], None]:
        def on_bar(done: int, _total: int) -> None:
            if "order" not in plan and done >= 40:
                recorded = read_run(store, RUN_ID)
                if recorded is not None and recorded.open_orders:
                    plan["order"], plan["at"] = next(iter(recorded.open_orders)), str(done)
            if str(done) == plan.get("at"):
                request_command(
                    store,
                    find_run(store, RUN_ID),
                    CancelOrder(order_id=plan["order"], operator="bob", reason="desk call"),
                )
            if done == crash_at:
                raise CrashError

        return on_bar

    smooth, crashed = f"sqlite:///{tmp_path / 'a.sqlite'}", f"sqlite:///{tmp_path / 'b.sqlite'}"
    store = open_event_store(smooth)
    expected = run_paper(config(), store, speed=0, progress=steer(store, None))
    store.close()
    assert "order" in plan and int(plan["at"]) < 150
    store = open_event_store(crashed)
    with pytest.raises(CrashError):
        run_paper(config(), store, speed=0, progress=steer(store, 150))
    result = run_paper(config(), store, speed=0, progress=steer(store, None))
    store.close()
    assert result.final_equity == expected.final_equity
    recorded = logged(crashed)
    assert recorded == logged(smooth)
    assert any(
        kind == "OrderCancelRequested" and data["origin"] == "operator" for kind, data in recorded
    )
