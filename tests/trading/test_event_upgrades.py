"""RiskDecisionMade v2 (``order_id``) and OrderCancelRequested v2 (``origin``): the upcasters
lift what v1 engines wrote to exactly what this build writes, and a run recorded in v1 resumes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.application.commands import Command, EngageKillSwitch, ReleaseKillSwitch
from api.application.control import find_run, request_command
from api.application.paper import run_paper
from api.application.recorded_run import read_run
from domain import ids
from domain.events.base import upcast
from domain.events.codec import SerializedEvent, canonical_json
from domain.events.types import CancelOrigin, RunMode
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.trading.test_recovery import RUN_ID, config, payloads


class CrashError(Exception):
    pass


def test_ids_minted_for_a_request_are_read_back_only_by_the_legacy_upcast() -> None:
    request = ids.request_ids("bt-1f2e", 17)
    assert request == ("bt-1f2e-s17", "bt-1f2e-d17", "bt-1f2e-c17", "bt-1f2e-o17")
    assert ids.legacy_order_id(request.decision_id) == request.order_id
    assert ids.legacy_order_id(ids.request_ids("my-run-d3", 4).decision_id) == "my-run-d3-o4"
    for foreign in ("dec-7", "run-dx", "run-d"):
        with pytest.raises(ValueError, match=r"not minted by domain\.ids"):
            ids.legacy_order_id(foreign)
    assert ids.event_sequence(ids.event_id("paper-ab:c", 42)) == 42
    assert ids.run_id(RunMode.BACKTEST, "0123456789abcdef0123") == "bt-0123456789abcdef"
    assert ids.run_id(RunMode.PAPER, "0123456789abcdef0123") == "paper-0123456789abcdef"


def test_a_v1_risk_decision_names_the_order_it_approved() -> None:
    v1 = {"decision_id": "r-d5", "approved": True, "rules": [], "signal_id": "r-s5"}
    assert upcast("RiskDecisionMade", 1, v1) == v1 | {"order_id": "r-o5"}
    rejected = v1 | {"approved": False}
    assert upcast("RiskDecisionMade", 1, rejected) == rejected | {"order_id": None}


@pytest.mark.parametrize(
    ("requested_by", "reason", "origin"),
    [
        ("engine", "run stopped", CancelOrigin.RUN_STOPPED),
        ("engine", "run failed", CancelOrigin.RUN_FAILED),
        ("alice", "kill switch: runaway", CancelOrigin.KILL_SWITCH),
        ("sma_cross", "strategy request", CancelOrigin.STRATEGY),
        ("engine", "engine overheated", CancelOrigin.STRATEGY),  # a strategy named "engine"
    ],
)
def test_a_v1_cancel_request_gets_its_origin(
    requested_by: str, reason: str, origin: CancelOrigin
) -> None:
    v1 = {"order_id": "r-o1", "reason": reason, "requested_by": requested_by}
    assert upcast("OrderCancelRequested", 1, v1) == v1 | {"origin": origin.value}


def as_v1(source: EventStore, target: EventStore) -> int:
    """Copy every event of ``source`` into ``target`` as a v1 engine would have written it;
    returns how many were written in v1."""
    rows, downgraded = [], 0
    for event in source.read_all():
        data, version = dict(event.data), event.stored_schema_version
        new_field = {"RiskDecisionMade": "order_id", "OrderCancelRequested": "origin"}
        if event.event_type in new_field:
            del data[new_field[event.event_type]]
            version, downgraded = 1, downgraded + 1
        rows.append(
            SerializedEvent(
                event.stream_id,
                event.stream_version,
                event.event_type,
                version,
                canonical_json(data),
                event.event_id,
                event.event_time_us,
                event.actor,
                event.causation_id,
                event.correlation_id,
            )
        )
    target.append_serialized(rows)
    return downgraded


def send(store: EventStore, command: Command) -> None:
    request_command(store, find_run(store, RUN_ID), command)


def test_a_run_recorded_in_v1_resumes_to_the_same_facts(tmp_path: Path) -> None:
    plan: dict[str, int] = {}

    def steer(store: EventStore, crash_at: int | None) -> Callable[[int, int], None]:
        """The kill switch engaged and released through the run's control stream."""

        def on_bar(done: int, _total: int) -> None:
            if "kill" not in plan and done >= 40:
                recorded = read_run(store, RUN_ID)
                if recorded is not None and recorded.open_orders:
                    plan["kill"] = done
            if done == plan.get("kill"):
                send(store, EngageKillSwitch(operator="alice", reason="drill"))
            elif done == plan.get("kill", -99) + 20:
                send(store, ReleaseKillSwitch(operator="alice", reason="drill over"))
            if done == crash_at:
                raise CrashError

        return on_bar

    urls = {name: f"sqlite:///{tmp_path / name}.sqlite" for name in ("smooth", "v2", "v1")}
    smooth = open_event_store(urls["smooth"])
    expected = run_paper(config(), smooth, speed=0, progress=steer(smooth, None))
    smooth.close()
    assert "kill" in plan and plan["kill"] + 20 < 150
    interrupted = open_event_store(urls["v2"])
    with pytest.raises(CrashError):
        run_paper(config(), interrupted, speed=0, progress=steer(interrupted, 150))
    old = open_event_store(urls["v1"])
    assert as_v1(interrupted, old) > 3
    interrupted.close()

    result = run_paper(config(), old, speed=0, progress=steer(old, None))

    versions = {(e.event_type, e.stored_schema_version) for e in old.read_all()}
    old.close()
    assert {("RiskDecisionMade", 1), ("RiskDecisionMade", 2)} <= versions  # resumed, not redone
    assert ("OrderCancelRequested", 1) in versions
    assert result.final_equity == expected.final_equity
    assert payloads(urls["v1"]) == payloads(urls["smooth"])
