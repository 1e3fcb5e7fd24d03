"""A backtest keeps Python's cyclic collector out of its loop: that must not leak memory.

``run_backtest`` pauses automatic collection for the run (``api.application.backtest``). That is
safe only because the engine makes no reference cycles, and it must still find the cycles a
user's strategy makes, every ``COLLECT_EVERY_BARS`` bar times.
"""

from __future__ import annotations

import gc
import weakref
from decimal import Decimal
from pathlib import Path

import pytest

from api.application import backtest
from api.application.backtest import BacktestConfig, run_backtest
from domain.market import Bar
from domain.strategy import Strategy, register
from infra.eventstore.factory import open_event_store
from tests.trading.helpers import wave_bars

COLLECTED: list[int] = []


class _Node:
    """An object in a reference cycle with itself; the collector is the only way to free it."""

    def __init__(self) -> None:
        self.itself = self
        weakref.finalize(self, COLLECTED.append, 1)


@register
class MakesCycles(Strategy):
    """Makes one unreachable cycle per bar and notes, at the end, how many were freed by then."""

    name = "test_makes_cycles"

    def on_start(self) -> None:
        COLLECTED.clear()
        self.freed_before_stop = -1

    def on_bar(self, bar: Bar) -> None:
        _Node()

    def on_stop(self) -> None:
        self.freed_before_stop = len(COLLECTED)


def _store(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    return open_event_store(f"sqlite:///{tmp_path / name}")


def _cyclic_garbage_of_a_run(tmp_path: Path, bars: int) -> tuple[int, int]:
    """(trades, objects only the cyclic collector could free) for one backtest."""
    config = BacktestConfig(
        bars={"BTC": wave_bars(bars)}, strategy="sma_cross", params={"fast": "5", "slow": "20"}
    )
    store = _store(tmp_path, f"events-{bars}.db")
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        result = run_backtest(config, store)
        garbage = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
        store.close()
    return len(result.trades), garbage


def test_a_backtest_makes_no_cyclic_garbage_per_bar_or_order(tmp_path: Path) -> None:
    # The engine, its strategy and the writer sink refer to each other: a few dozen objects
    # per run, freed by the first collection after it. Nothing may grow with the run.
    short_trades, short_garbage = _cyclic_garbage_of_a_run(tmp_path, 3_000)
    long_trades, long_garbage = _cyclic_garbage_of_a_run(tmp_path, 6_000)
    assert long_trades > short_trades > 20  # orders, fills and valuations all happened
    assert long_garbage == short_garbage < 200


@pytest.mark.parametrize(("every", "freed_during_run"), [(500, True), (10**9, False)])
def test_cycles_a_strategy_makes_are_collected_during_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, freed_during_run: bool
) -> None:
    monkeypatch.setattr(backtest, "COLLECT_EVERY_BARS", every)
    strategies: list[MakesCycles] = []
    original_init = MakesCycles.__init__

    def keep(self: MakesCycles, params: dict[str, str]) -> None:
        original_init(self, params)
        strategies.append(self)

    monkeypatch.setattr(MakesCycles, "__init__", keep)
    config = BacktestConfig(
        bars={"BTC": wave_bars(2_000)}, strategy="test_makes_cycles", params={}, cash=Decimal(1)
    )
    store = _store(tmp_path, f"events-{every}.db")
    try:
        run_backtest(config, store)
    finally:
        store.close()
    freed = strategies[-1].freed_before_stop
    assert (freed > 1_000) is freed_during_run
    gc.collect()
    assert len(COLLECTED) == 2_000  # and every one is freed once the run is over
