"""Valuation cadence, batched appends and their recovery, events built without re-validation."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import run_backtest
from api.application.failures import RunFailedError
from api.application.lease import RunLease
from api.application.optimize import simulate
from api.application.recorded_run import read_run
from api.application.runs import BacktestConfig, RunConfigError
from domain.engine.engine import parse_interval
from domain.events.catalog import FillRecorded, PortfolioValued, StrategyRunStopped
from domain.events.codec import encode
from domain.events.envelope import NewEvent
from domain.market import INTERVAL_MICROSECONDS
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import AppendResult, EventStore
from infra.eventstore.writer_process import WriterProcessSink
from tests.trading.helpers import wave_bars

D = Decimal
HOUR_US = INTERVAL_MICROSECONDS["1h"]


def config(**overrides: object) -> BacktestConfig:
    values: dict[str, object] = {
        "bars": {"BTC": wave_bars(500), "ETH": wave_bars(500, "ETH", 50.0)},
        "strategy": "sma_cross",
        "params": {"fast": "5", "slow": "15", "size": "2"},
        "venue": SimulatedVenueConfig(volume_cap=D("0.05")),
        "run_id": "valued",
    }
    values.update(overrides)
    return BacktestConfig(**values)  # type: ignore[arg-type]


def test_parse_interval() -> None:
    assert parse_interval("1h") == HOUR_US
    assert parse_interval("15m") == INTERVAL_MICROSECONDS["15m"]
    assert parse_interval("30s") == 30_000_000
    assert parse_interval("1d") == INTERVAL_MICROSECONDS["1d"]
    for bad in ("", "0h", "1w", "h", "1.5h", "-1m"):
        with pytest.raises(ValueError, match="interval"):
            parse_interval(bad)
    with pytest.raises(RunConfigError, match="valuation interval"):
        simulate(config(valuation_interval="hourly"))


def test_valuations_at_each_hour_and_at_the_end() -> None:
    result, events = simulate(config())
    bar_us = INTERVAL_MICROSECONDS["1m"]
    closes = sorted({b.time_us + bar_us for b in wave_bars(500)})
    hour_closes = [c for c in closes if c % HOUR_US == 0]
    fill_bars = {e.event_time_us for e in events if isinstance(e.payload, FillRecorded)}
    valued = [e for e in events if isinstance(e.payload, PortfolioValued)]
    *during, final = valued
    # during the run: at the close of each bar that reaches an hour, fills or not
    assert [e.event_time_us for e in during] == hour_closes
    assert len(hour_closes) == 8 and len(fill_bars) > 10
    # and once more when the run stops, just before StrategyRunStopped
    assert isinstance(events[-1].payload, StrategyRunStopped)
    assert events[-2] is final and isinstance(final.payload, PortfolioValued)
    assert final.payload.equity == result.final_equity
    # the in-memory equity curve still has every bar time, and agrees with every valuation
    assert [p.time_us for p in result.equity_curve] == closes
    curve = {p.time_us: p.equity for p in result.equity_curve}
    for event in during:
        assert isinstance(event.payload, PortfolioValued)
        assert curve[event.event_time_us] == event.payload.equity


def test_a_valuation_every_bar_with_an_interval_of_one_bar() -> None:
    hourly, hourly_events = simulate(config())
    every, every_events = simulate(config(valuation_interval="1m"))

    def valuations(events: list[NewEvent]) -> list[NewEvent]:
        return [e for e in events if isinstance(e.payload, PortfolioValued)]

    assert len(valuations(every_events)) == 500 + 1
    assert len(valuations(hourly_events)) < 500 // 4
    # the cadence changes what is recorded about the book, never the trading
    assert every.trades == hourly.trades and every.final_equity == hourly.final_equity
    trading = [e.payload for e in every_events if not isinstance(e.payload, PortfolioValued)]
    assert (
        trading[1:]
        == [e.payload for e in hourly_events if not isinstance(e.payload, PortfolioValued)][1:]
    )


def test_events_built_by_the_engine_are_valid_and_encode_as_validated_ones() -> None:
    _, events = simulate(
        config(
            venue=SimulatedVenueConfig(slippage_bps=D(3), volume_cap=D("0.05")), record_bars=True
        )
    )
    for event in events:
        payload = event.payload
        again = type(payload).model_validate(payload.model_dump())
        assert again == payload
        rebuilt = NewEvent(
            event.stream_id,
            event.stream_version,
            again,
            event.event_id,
            event.event_time_us,
            event.actor,
            event.causation_id,
            event.correlation_id,
        )
        assert encode(rebuilt, 7) == encode(event, 7)


class CrashingStore:
    """An event store that dies (raises) on its ``fail_at``-th append (in this process: it
    cannot be reopened by URL, so a backtest records through it, not a writer process)."""

    reopenable = False

    def __init__(self, store: EventStore, fail_at: int) -> None:
        self.store = store
        self.fail_at = fail_at
        self.appends = 0

    def append(self, events: Sequence[NewEvent]) -> AppendResult:
        self.appends += 1
        if self.appends == self.fail_at:
            raise OSError("disk gone")
        return self.store.append(events)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def _kill_the_writer_process_at(append: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL the run's writer process as the engine hands it batch number ``append``."""
    import api.application.backtest as backtest

    monkeypatch.setattr(backtest, "WRITER_MIN_BAR_TIMES", 0)
    real_sink_for = backtest._sink_for

    def sink_for(store: EventStore, bar_times: int, lease: RunLease) -> object:
        sink = real_sink_for(store, bar_times, lease)
        assert isinstance(sink, WriterProcessSink)
        hand_over, calls = sink.append, [0]

        def append_or_kill(events: Sequence[NewEvent]) -> None:
            calls[0] += 1
            if calls[0] == append:
                sink.drain()  # the batches before this one are in the log
                os.kill(sink.writer_pid, signal.SIGKILL)
                sink._process.wait()
            hand_over(events)

        sink.append = append_or_kill  # type: ignore[method-assign]
        return sink

    monkeypatch.setattr(backtest, "_sink_for", sink_for)


@pytest.mark.parametrize("writer", ["in process", "writer process"])
@pytest.mark.parametrize("fail_at", [2, 3])
def test_a_backtest_that_died_between_batches_resumes_to_the_same_log(
    tmp_path: Path, fail_at: int, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.application.backtest as backtest

    monkeypatch.setattr(backtest, "FLUSH_EVENTS", 40)  # small batches: several per run
    bars = {"BTC": wave_bars(1500), "ETH": wave_bars(1500, "ETH", 50.0)}
    clean = open_event_store(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    expected = run_backtest(config(bars=bars), clean)
    crashed = open_event_store(f"sqlite:///{tmp_path / 'crashed.sqlite'}")
    with monkeypatch.context() as patch:
        if writer == "in process":
            with pytest.raises(RunFailedError, match="disk gone") as raised:
                run_backtest(config(bars=bars), CrashingStore(crashed, fail_at))  # type: ignore[arg-type]
        else:
            _kill_the_writer_process_at(fail_at, patch)
            with pytest.raises(RunFailedError, match="exited") as raised:
                run_backtest(config(bars=bars), crashed)
    assert raised.value.recorded and raised.value.failure.resumable
    partial = read_run(crashed, "valued")
    assert partial is not None and not partial.stopped
    assert 0 < partial.events < expected.events
    resumed = run_backtest(config(bars=bars), crashed)
    assert not resumed.already_recorded
    assert resumed.final_equity == expected.final_equity and resumed.trades == expected.trades

    def log(store: EventStore) -> list[tuple[str, str]]:
        """The facts of the run; the interruption (one RunFailed) aside."""
        return [
            (e.event_type, e.payload_hash)
            for e in store.read_all(verify=True)
            if e.event_type != "RunFailed"
        ]

    assert log(crashed) == log(clean)
    ids = [e.event_id for e in crashed.read_all()]
    assert ids == [f"valued:{n}" for n in range(1, expected.events + 2)]
    assert crashed.head() == expected.events + 1
    again = run_backtest(config(bars=bars), crashed)
    assert again.already_recorded and crashed.head() == expected.events + 1
    clean.close()
    crashed.close()
