"""`lh audit state` on both clocks and `lh store tail --json`, on a recorded backtest."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from domain.events.envelope import RecordedEvent, from_microseconds, to_microseconds
from infra.eventstore.factory import open_event_store
from infra.settings import load_settings
from tests.trading.helpers import wave_bars, write_bars_csv

MID_BACKTEST = "2024-01-01T02:30:00Z"  # bar 150 of the 300 one-minute bars


def lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[RecordedEvent]:
    """A backtest recorded in the embedded store; its events as read back."""
    monkeypatch.setenv("COLUMNS", "200")
    path = write_bars_csv(tmp_path / "bars.csv", wave_bars(300))
    code, out = lh("backtest", "--data", str(path), "--strategy", "sma_cross", "--json")
    assert code == 0, out
    store = open_event_store(load_settings().event_store)
    try:
        return list(store.read_all())
    finally:
        store.close()


def _state(*args: str) -> dict[str, object]:
    code, out = lh("audit", "state", *args, "--json")
    assert code == 0, out
    result: dict[str, object] = json.loads(out)
    return result


def test_state_on_the_event_clock_shows_a_backtest_at_its_bar_time(
    events: list[RecordedEvent],
) -> None:
    instant = to_microseconds(datetime.fromisoformat(MID_BACKTEST))
    before = [e for e in events if e.event_time_us <= instant]
    assert 0 < len(before) < len(events)

    by_default = _state("--at", MID_BACKTEST)
    assert by_default == _state("--at", MID_BACKTEST, "--clock", "event")
    assert by_default["clock"] == "event"
    assert by_default["events"] == len(before) and by_default["position"] == before[-1].position
    decisions = sum(e.event_type == "RiskDecisionMade" for e in before)
    assert by_default["risk_decisions"] == {
        "total": decisions,
        "approved": sum(e.event_type == "RiskDecisionMade" and e.data["approved"] for e in before),
        "rejected": sum(
            e.event_type == "RiskDecisionMade" and not e.data["approved"] for e in before
        ),
    }
    assert decisions > 0 and by_default["cash"]

    code, out = lh("audit", "state", "--at", MID_BACKTEST)
    assert code == 0 and "on the event clock" in out and f"{len(before)} events" in out, out


def test_state_on_the_recorded_clock_is_what_the_log_held_then(
    events: list[RecordedEvent],
) -> None:
    recorded = _state("--at", MID_BACKTEST, "--clock", "recorded")
    assert recorded["clock"] == "recorded"
    assert (recorded["events"], recorded["position"], recorded["cash"]) == (0, 0, [])

    later = from_microseconds(events[-1].recorded_time_us).isoformat()
    everything = _state("--at", later, "--clock", "recorded")
    assert (everything["events"], everything["position"]) == (len(events), events[-1].position)
    code, out = lh("audit", "state", "--at", later, "--clock", "recorded")
    assert code == 0 and "on the recorded clock" in out, out


def test_store_tail_json_prints_the_whole_envelope(events: list[RecordedEvent]) -> None:
    code, out = lh("store", "tail", "--after", "1", "--limit", "3", "--json")
    assert code == 0, out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["position"] for line in lines] == [2, 3, 4]
    for line, event in zip(lines, events[1:4], strict=True):
        assert line == {
            "position": event.position,
            "stream": event.stream_id,
            "version": event.stream_version,
            "type": event.event_type,
            "schema_version": event.stored_schema_version,
            "event_id": event.event_id,
            "event_time": event.event_time.isoformat(),
            "recorded_time": event.recorded_time.isoformat(),
            "actor": event.actor.as_dict(),
            "causation_id": event.causation_id,
            "correlation_id": event.correlation_id,
            "payload": event.data,
            "payload_hash": event.payload_hash,
        }
    assert all(line["correlation_id"] and line["actor"]["name"] for line in lines)
