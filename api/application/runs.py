"""What backtest, paper and optimize share: validated run preparation and the engine."""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import overload

import numpy as np

from adapters.venue.registry import VENUES, VenueRegistry
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.strategies import resolve_strategy, source_hash
from domain import ids
from domain.engine.engine import RunSpec, TradingEngine, parse_interval
from domain.engine.ports import Clock, EventSink
from domain.events.types import RunMode
from domain.market import INTERVAL_MICROSECONDS, Bar, BarSeries, MisfiledBarError, bars_digest
from domain.metrics import compute_metrics
from domain.risk import RiskEngine, RiskLimits
from domain.strategy import Strategy, StrategyError
from domain.trades import ClosedTrade, EquityCurve
from domain.values import MAX_COMMISSION, MAX_SLIPPAGE_BPS, MONEY, SCALE, within

Progress = Callable[[int, int], None]
CHUNK_GROUPS = 5_000
ONE = Decimal(1)
ONE_E4 = Decimal(10_000)
DATA_EXHAUSTED = "data exhausted"  # the stop reason of a run that processed all its bars


class RunConfigError(ValueError):
    """The run cannot start (unknown strategy, bad parameter, no bars); nothing was recorded."""


@dataclass(frozen=True)
class BacktestConfig:
    """Everything that defines a run; the same config always yields the same events.

    What the run is (bars, strategy, cash, account, limits, valuation) apart from which venue
    runs it (``venue``, built by the composition root's venue registry)."""

    bars: Mapping[str, Sequence[Bar]]
    strategy: str
    params: dict[str, str]
    cash: Decimal = Decimal(100000)
    venue: SimulatedVenueConfig = field(default_factory=SimulatedVenueConfig)
    run_id: str | None = None
    record_bars: bool = False
    account: str | None = None  # default: the run id, so every run has its own book and cash
    risk_limits: RiskLimits = field(default_factory=RiskLimits)
    valuation_interval: str = "1h"
    periods_per_year: int | None = None
    """Daily returns a year for the statistics; ``None`` infers them from the bars' calendar.
    Not part of the run's identity (``config_hash``): it changes no event, only statistics."""


@dataclass(frozen=True)
class BacktestResult:
    """What a run produced. ``equity_curve`` is columnar (``EquityCurve``): a point per bar time
    would be a million objects for a million bars; it still reads as ``EquityPoint``s."""

    run_id: str
    final_equity: Decimal
    events: int
    metrics: dict[str, float | int | str]
    trades: list[ClosedTrade]
    equity_curve: EquityCurve
    first_position: int
    last_position: int
    already_recorded: bool = False


@dataclass(frozen=True)
class PreparedRun:
    """A validated config: the strategy instance, bar groups in time order, ids and hashes."""

    config: BacktestConfig
    strategy: Strategy
    groups: Sequence[tuple[Bar, ...]]
    spec: RunSpec


def check_config(config: BacktestConfig) -> tuple[Strategy, int]:
    """Every check ``prepare_run`` makes, without its passes over the bars (hashing bars that
    are not a loaded ``BarSeries`` costs ~1 s per million): the strategy instance and the
    valuation interval in µs. Misfiled bars are found by that pass, in ``prepare_run``."""
    try:
        strategy = resolve_strategy(config.strategy)(config.params)
    except StrategyError as error:
        raise RunConfigError(str(error)) from None
    if not any(config.bars.values()):
        raise RunConfigError("no bars to run on")
    check_values(config)
    try:
        valuation_us = parse_interval(config.valuation_interval)
    except ValueError as error:
        raise RunConfigError(f"valuation interval: {error}") from None
    return strategy, valuation_us


def check_values(config: BacktestConfig) -> None:
    """The run's money and fee settings within the bounds of what may be recorded and what a
    venue charges (``domain.values``): the cash is recorded in ``StrategyRunStarted``, and a
    commission of 2 (for 0.002) or a slippage of 100 % would account nonsense or fail."""
    if config.cash <= 0:
        raise RunConfigError(f"cash must be positive, got {config.cash}")
    problem = MONEY.problem(config.cash)
    if problem:
        raise RunConfigError(f"cash {problem}")
    venue = config.venue
    if not (0 <= venue.commission <= MAX_COMMISSION and within(venue.commission, ONE)):
        raise RunConfigError(
            f"commission {venue.commission} is out of bounds: a fee must be a fraction of "
            f"notional from 0 to {MAX_COMMISSION} (10 %) with at most {SCALE} decimal places"
        )
    if not (0 <= venue.slippage_bps < MAX_SLIPPAGE_BPS and within(venue.slippage_bps, ONE_E4)):
        raise RunConfigError(
            f"slippage {venue.slippage_bps} bps is out of bounds: it must be at least 0 and "
            f"below {MAX_SLIPPAGE_BPS} bps (100 % would fill a sell at zero or below), with at "
            f"most {SCALE} decimal places"
        )
    cap = venue.volume_cap
    if cap is not None and not (Decimal(0) < cap <= 1 and within(cap, ONE_E4)):
        raise RunConfigError(
            f"volume cap must be in (0, 1] with at most {SCALE} decimal places, got {cap}"
        )


def prepare_run(config: BacktestConfig, mode: RunMode) -> PreparedRun:
    """Validate everything that can be wrong before a single event is recorded."""
    strategy, valuation_us = check_config(config)
    strategy_class = type(strategy)
    try:
        code = source_hash(strategy_class)
    except StrategyError as error:
        raise RunConfigError(str(error)) from None
    bars = {symbol: rows for symbol, rows in config.bars.items() if rows}
    interval, interval_us = infer_interval(bars)
    try:
        digest = config_hash(config, bars, mode, strategy_hash=code)
    except MisfiledBarError as error:
        raise RunConfigError(str(error)) from None
    run_id = config.run_id or ids.run_id(mode, digest)
    spec = RunSpec(
        run_id=run_id,
        strategy=strategy_class.strategy_name(),
        params={name: str(value) for name, value in sorted(strategy.params.items())},
        symbols=sorted(bars),
        mode=mode,
        account=config.account or run_id,
        initial_cash=config.cash,
        config_hash=digest,
        interval=interval,
        interval_us=interval_us,
        record_bars=config.record_bars,
        valuation_interval_us=valuation_us,
        strategy_hash=code,
    )
    return PreparedRun(config, strategy, group_by_time(bars), spec)


def build_engine(
    prepared: PreparedRun,
    sink: EventSink,
    clock: Clock,
    *,
    flush_every: int,
    flush_events: int = 0,
    venues: VenueRegistry = VENUES,
) -> TradingEngine:
    """The run's engine, trading on the venue ``venues`` builds from the config's ``venue``."""
    config = prepared.config
    risk = RiskEngine(
        prepared.spec.account,
        config.risk_limits,
        fee_rate=config.venue.commission,
        slippage_bps=config.venue.slippage_bps,
    )
    return TradingEngine(
        prepared.spec,
        prepared.strategy,
        venue=venues.create(config.venue),
        risk=risk,
        sink=sink,
        clock=clock,
        flush_every=flush_every,
        flush_events=flush_events,
    )


def group_by_time(bars: Mapping[str, Sequence[Bar]]) -> Sequence[tuple[Bar, ...]]:
    """Bars of all symbols merged into one tuple per open time, symbols in name order.

    Tuples, not lists: a tuple holds its items inline, a list in a second allocation. One
    symbol's loaded (columnar) bars become ``OneBarGroups``: built a chunk at a time as the
    run reads them, never all at once."""
    if len(bars) == 1:
        [rows] = bars.values()
        if bool(np.all(np.diff(_open_times(rows)) > 0)):
            if isinstance(rows, BarSeries) and rows.source is not None:
                return OneBarGroups(rows)
            return list(zip(rows))  # one bar per time: [(bar,), ...], built in C
    by_time: dict[int, list[Bar]] = {}
    for symbol in sorted(bars):
        for bar in bars[symbol]:
            by_time.setdefault(bar.time_us, []).append(bar)
    return [tuple(by_time[t]) for t in sorted(by_time)]


def infer_interval(bars: Mapping[str, Sequence[Bar]]) -> tuple[str, int]:
    """The smallest step between consecutive bars of any symbol, named if it is a standard one."""
    steps = [np.diff(_open_times(rows)) for rows in bars.values()]
    positive = [int(found[found > 0].min()) for found in steps if np.any(found > 0)]
    step = min(positive) if positive else INTERVAL_MICROSECONDS["1d"]
    for name, micros in INTERVAL_MICROSECONDS.items():
        if micros == step:
            return name, step
    return f"{step // 1_000_000}s", step


class OneBarGroups(Sequence[tuple[Bar, ...]]):
    """One symbol's bars as one-bar groups, ``(bar,)`` per bar time, built when read: a run
    reads a chunk of groups at a time (``run_groups``) and holds no other."""

    __slots__ = ("_series",)

    def __init__(self, series: BarSeries) -> None:
        self._series = series

    def __len__(self) -> int:
        return len(self._series)

    @overload
    def __getitem__(self, index: int) -> tuple[Bar, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Bar, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Bar, ...] | list[tuple[Bar, ...]]:
        if isinstance(index, slice):
            return list(zip(self._series[index]))
        return (self._series[index],)

    def __iter__(self) -> Iterator[tuple[Bar, ...]]:
        return zip(self._series)


def _open_times(rows: Sequence[Bar]) -> np.ndarray:
    """Open times as int64, for vectorized checks (pairwise Python loops over 1M bars are slow)."""
    if isinstance(rows, BarSeries):
        return rows.open_times()
    return np.fromiter([bar.time_us for bar in rows], dtype=np.int64, count=len(rows))


def config_hash(
    config: BacktestConfig,
    bars: Mapping[str, Sequence[Bar]],
    mode: RunMode,
    *,
    strategy_hash: str,
) -> str:
    """SHA-256 over every setting that can change the events, the strategy's source, the bars.

    The settings (with ``strategy_hash``, the SHA-256 of the strategy's source) are sorted
    JSON, the simulated venue's costs as flat keys (as before they had a config of their own:
    existing run ids stay the same); then one line ``{symbol} {bars_digest(symbol, rows)}`` per
    symbol in name order. ``bars_digest`` hashes a line per bar with the exact ``str`` of each
    Decimal (``1.0`` and ``1.00`` differ, as they do in the events); a ``BarSeries`` from the
    loader brings it computed from the file's columns, so only other sequences pay the ~1 s per
    million bars here. A bar filed under another symbol's key raises ``MisfiledBarError``.
    """
    digest = hashlib.sha256()
    settings = {
        "mode": mode.value,
        "strategy": config.strategy,
        "params": dict(sorted(config.params.items())),
        "cash": str(config.cash),
        "commission": str(config.venue.commission),
        "slippage_bps": str(config.venue.slippage_bps),
        "volume_cap": None if config.venue.volume_cap is None else str(config.venue.volume_cap),
        "record_bars": config.record_bars,
        "account": config.account,
        "risk_limits": config.risk_limits.model_dump(mode="json"),
        "valuation_interval": config.valuation_interval,
        "strategy_hash": strategy_hash,
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for symbol in sorted(bars):
        digest.update(f"{symbol} {bars_digest(symbol, bars[symbol])}\n".encode())
    return digest.hexdigest()


def run_groups(
    engine: TradingEngine,
    groups: Sequence[Sequence[Bar]],
    progress: Progress | None,
    *,
    start: int = 0,
) -> Iterator[int]:
    """Feed ``groups[start:]`` to the engine a chunk at a time (at most ``CHUNK_GROUPS``, and
    1/200 of the run so progress moves smoothly); yields the number of groups done after each."""
    total = len(groups)
    step = max(1, min(CHUNK_GROUPS, total // 200))
    for begin in range(start, total, step):
        end = min(begin + step, total)
        engine.process_many(groups[begin:end])
        if progress is not None:
            progress(end, total)
        yield end


def result_of(
    engine: TradingEngine,
    prepared: PreparedRun,
    *,
    events: int,
    first_position: int,
    last_position: int,
    already_recorded: bool = False,
) -> BacktestResult:
    """The run's result; the curve is copied from the engine's columns, never made of points."""
    book = engine.book
    curve = EquityCurve(array("q", engine.curve_times), engine.curve_equity)
    metrics = compute_metrics(
        curve,
        book.trades,
        initial_equity=prepared.config.cash,
        fees=book.fees,
        traded_notional=engine.traded_notional,
        bars_in_market=engine.bars_in_market,
        total_bars=len(prepared.groups),
        periods_per_year=prepared.config.periods_per_year,
    )
    return BacktestResult(
        run_id=prepared.spec.run_id,
        final_equity=book.equity,
        events=events,
        metrics=metrics.as_dict(),
        trades=list(book.trades),
        equity_curve=curve,
        first_position=first_position,
        last_position=last_position,
        already_recorded=already_recorded,
    )


def already_recorded_result(
    engine: TradingEngine, prepared: PreparedRun, *, events: int
) -> BacktestResult:
    """The result of a run the log already holds to its end (rebuilt by replay); nothing was
    appended, so no positions."""
    return result_of(
        engine, prepared, events=events, first_position=0, last_position=0, already_recorded=True
    )
