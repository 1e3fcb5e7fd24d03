"""`lh ctl` reaches a running `lh paper` session in another process, across a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.events.envelope import RecordedEvent
from tests.control.helpers import answered, bidder, caused_by, lh, start_lh, wait_for
from tests.trading.helpers import wave_bars, write_bars_csv

RUN = "steered"
APPLIED = "OperatorCommandApplied"


def paper(data: Path, strategy: str, speed: str) -> list[str]:
    return ["paper", "--data", str(data), "--strategy", strategy, "--run-id", RUN,
            "--speed", speed, "--json"]  # fmt: skip


def ctl(store_env: dict[str, str], *args: str, operator: str = "alice") -> str:
    """Send one request from its own process; its request id."""
    done = lh(store_env, "ctl", *args, "--run", RUN, "--operator", operator,
              "--reason", "drill", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["request_id"])


def outcome(events: list[RecordedEvent], request_id: str) -> list[str]:
    return [e.event_type for e in caused_by(events, request_id)]


def test_requests_reach_a_slow_session_and_survive_a_sigkill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 0.02x a minute bar takes 50 minutes: the session processes its first bar time and
    then waits, and every request is applied during that wait (no other bar time comes)."""
    store_env = {"LH_EVENT_STORE": f"sqlite:///{tmp_path / 'events.sqlite'}"}
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(30))
    strategy = bidder(tmp_path)
    session = start_lh(store_env, *paper(data, strategy, "0.02"))
    try:
        events = wait_for(store_env, lambda ev: any(e.event_type == "OrderSubmitted" for e in ev))
        [order] = [e.data["order_id"] for e in events if e.event_type == "OrderSubmitted"]

        cancel = ctl(store_env, "cancel", order)
        events = wait_for(store_env, answered(cancel), session)
        assert outcome(events, cancel) == ["OrderCancelRequested", APPLIED]
        request = caused_by(events, cancel)[0]
        assert request.actor.kind.value == "operator" and request.actor.name == "alice"

        limit = ctl(store_env, "limit", "max_order_quantity=5")
        engage = ctl(store_env, "kill-switch", "engage")
        unknown = ctl(store_env, "cancel", f"{RUN}-o999")
        events = wait_for(store_env, answered(unknown), session)
        assert outcome(events, limit) == ["RiskLimitsChanged", APPLIED]
        assert outcome(events, engage) == ["KillSwitchEngaged", APPLIED]
        assert outcome(events, unknown) == ["OperatorCommandRejected"]
        assert "is not open" in caused_by(events, unknown)[0].data["error"]
        assert [e.event_type for e in events].count("OrderSubmitted") == 1  # one bar time
    finally:
        session.send_signal(signal.SIGKILL)
        session.communicate()

    halt = ctl(store_env, "state", "HALTED", operator="bob")  # the session is down
    for name, value in store_env.items():
        monkeypatch.setenv(name, value)
    status = CliRunner().invoke(app, ["ctl", "status", "--run", "latest", "--json"])
    assert status.exit_code == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["kill_switch_engaged"] and shown["trading_state"] == "ACTIVE"
    assert [r["request_id"] for r in shown["pending_requests"]] == [halt]
    assert shown["limits_changed"] == {"max_order_quantity": "5"}

    restarted = lh(store_env, *paper(data, strategy, "0"))
    assert restarted.returncode == 0, restarted.stderr
    events = wait_for(store_env, answered(halt))
    for request_id, kinds in [(cancel, ["OrderCancelRequested", APPLIED]),
                              (limit, ["RiskLimitsChanged", APPLIED]),
                              (engage, ["KillSwitchEngaged", APPLIED]),
                              (halt, ["TradingStateChanged", APPLIED]),
                              (unknown, ["OperatorCommandRejected"])]:  # fmt: skip
        assert outcome(events, request_id) == kinds  # once, across the crash
    types = [e.event_type for e in events]
    engaged_at = types.index("KillSwitchEngaged")
    assert types.index("ReconciliationCompleted") < types.index("TradingStateChanged")
    assert "OrderSubmitted" not in types[engaged_at:]
    assert "RiskDecisionMade" in types[engaged_at:]  # the strategy kept asking, refused
    assert types[-1] == "StrategyRunStopped"


@pytest.mark.services
def test_kill_switch_stops_a_fast_session_on_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    """At 600x (0.1 s a bar) the session keeps trading until the request; after its
    outcome, no order is submitted again."""
    store_env = {"LH_EVENT_STORE": redis_url, "LH_REDIS_KEY_PREFIX": redis_prefix}
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(3000))
    session = start_lh(store_env, *paper(data, bidder(tmp_path), "600"))
    try:
        wait_for(store_env, lambda ev: any(e.event_type == "OrderSubmitted" for e in ev))
        engage = ctl(store_env, "kill-switch", "engage")
        events = wait_for(store_env, answered(engage), session)
        assert outcome(events, engage) == ["KillSwitchEngaged", APPLIED]
        engaged = caused_by(events, engage)[0]
        canceled = [e for e in events if e.causation_id == engaged.event_id]
        assert [e.event_type for e in canceled] == ["OrderCancelRequested"]  # the bid working
        bars_then = len(events)
        wait_for(store_env, lambda ev: len(ev) > bars_then + 20, session)  # it trades on
    finally:
        if session.poll() is None:
            os.kill(session.pid, signal.SIGKILL)
        session.communicate()
    types = [e.event_type for e in wait_for(store_env, lambda ev: True)]
    assert "OrderSubmitted" not in types[types.index("KillSwitchEngaged") :]
