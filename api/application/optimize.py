"""Parameter grids: every combination backtested in parallel processes, then ranked.

Workers never touch the event store (SQLite allows one writer at a time): each simulates its
run in memory and returns the events; the parent appends them through ``EventStore.append``
in grid order. A run already in the store is skipped, a partly recorded one is completed.
The parent holds each run's lease while it reads and completes that run (workers append
nothing, so they need none): an ``lh backtest`` or another ``lh optimize`` recording the same
run id at that moment is refused, or refuses this grid point (reported, not recorded).
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from adapters.venue.registry import VENUES, VenueRegistry
from api.application.backtest import FLUSH_EVERY_BARS
from api.application.lease import RunLease, hold_run
from api.application.recorded_run import read_run
from api.application.runloop import Flushing, Session, run_in_memory
from api.application.runs import (
    DATA_EXHAUSTED,
    BacktestConfig,
    BacktestResult,
    PreparedRun,
    RunConfigError,
    check_config,
    config_hash,
    prepare_run,
    run_groups,
)
from api.application.strategies import source_hash
from domain import ids
from domain.engine.engine import StrategyFailedError
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.envelope import NewEvent
from domain.events.types import RunMode
from domain.market import Bar
from domain.strategy import Param, StrategyError
from infra.eventstore.leases import LeaseHeldError
from infra.eventstore.store import EventStore

APPEND_BATCH = 2_000
LOWER_IS_BETTER = {"max_drawdown", "max_drawdown_duration_days", "annual_volatility", "fees"}


@dataclass(frozen=True)
class GridRun:
    params: dict[str, str]
    result: BacktestResult | None
    error: str = ""


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["fast=5,10", "slow=30"]`` -> ``{"fast": ["5", "10"], "slow": ["30"]}``.

    A name given twice or a value listed twice is refused: the last one winning silently
    would run a different grid than the one typed.
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        choices = [v.strip() for v in values.split(",")]
        if not sep or not name or not any(choices):
            raise RunConfigError(f"--grid {item!r} must look like name=v1,v2,...")
        if "" in choices:
            raise RunConfigError(f"--grid {item!r} has an empty value")
        if name in grid:
            raise RunConfigError(
                f"--grid {name} is given twice; list all its values in one: "
                f"--grid {name}={','.join(grid[name] + choices)}"
            )
        repeated = sorted({v for v in choices if choices.count(v) > 1})
        if repeated:
            raise RunConfigError(f"--grid {item!r} lists {', '.join(repeated)} more than once")
        grid[name] = choices
    if not grid:
        raise RunConfigError("give at least one --grid name=v1,v2,...")
    return grid


def check_grid(
    strategy: str, declared: Mapping[str, Param], grid: Mapping[str, list[str]], base: set[str]
) -> None:
    """Refuse a grid naming an unknown parameter, one also given by ``--param``, or a value
    its parameter rejects on its own (not a number, out of bounds). Combinations that are only
    invalid together (``fast >= slow``) are reported as skipped rows instead."""
    unknown = sorted(set(grid) - set(declared))
    if unknown:
        raise RunConfigError(
            f"strategy {strategy} has no parameter {', '.join(unknown)} "
            f"(known: {', '.join(sorted(declared)) or 'none'})"
        )
    both = sorted(set(grid) & base)
    if both:
        raise RunConfigError(f"{', '.join(both)}: given by both --param and --grid; keep one")
    for name, values in grid.items():
        for value in values:
            try:
                declared[name].parse(name, value)
            except StrategyError as error:
                raise RunConfigError(f"--grid {name}: {error}") from None


def named_run_id(config: BacktestConfig, name: str) -> str:
    """``NAME-<config digest>``: a grid's runs told apart from other optimizations, and the
    same on a rerun of the same optimization (so it is recognised as recorded)."""
    strategy, _ = check_config(config)
    bars = {symbol: rows for symbol, rows in config.bars.items() if rows}
    code = source_hash(type(strategy))
    return ids.named_run_id(name, config_hash(config, bars, RunMode.BACKTEST, strategy_hash=code))


def combinations(base: dict[str, str], grid: dict[str, list[str]]) -> list[dict[str, str]]:
    names = sorted(grid)
    return [
        base | dict(zip(names, values, strict=True))
        for values in itertools.product(*(grid[n] for n in names))
    ]


def simulate(
    config: BacktestConfig, venues: VenueRegistry = VENUES
) -> tuple[BacktestResult, list[NewEvent]]:
    """A whole backtest in memory: its result and every event it would record."""
    prepared = prepare_run(config, RunMode.BACKTEST)
    sink = CollectingSink()
    result = run_in_memory(
        prepared,
        sink,
        clock=SimulatedClock(),
        flushing=Flushing(FLUSH_EVERY_BARS),
        drive=lambda session: _every_bar(session, prepared),
        venues=venues,
    )
    return result, sink.events


def _every_bar(session: Session, prepared: PreparedRun) -> str:
    for _ in run_groups(session.engine, prepared.groups, None):
        pass
    return DATA_EXHAUSTED


_WORKER_BARS: dict[str, Sequence[Bar]] = {}


def _init_worker(bars: Mapping[str, Sequence[Bar]]) -> None:
    _WORKER_BARS.clear()
    _WORKER_BARS.update(bars)


def _simulate_in_worker(
    config: BacktestConfig, venues: VenueRegistry
) -> tuple[BacktestResult, list[NewEvent]]:
    return simulate(replace(config, bars=_WORKER_BARS), venues)


def run_grid(
    base: BacktestConfig,
    grid: dict[str, list[str]],
    store: EventStore,
    *,
    jobs: int = 2,
    progress: Callable[[int, int], None] | None = None,
    name: str | None = None,
    venues: VenueRegistry = VENUES,
) -> list[GridRun]:
    """Backtest every combination; invalid ones are reported, not run. With ``name`` the runs
    are ``NAME-<digest>`` (``named_run_id``) instead of ``bt-<digest>``. ``venues`` goes to
    the worker processes, so its factories must pickle (module functions do)."""
    runs: list[GridRun] = []
    pending: list[tuple[dict[str, str], BacktestConfig]] = []
    for params in combinations(base.params, grid):
        config = replace(base, params=params, run_id=None)
        try:
            check_config(config)  # the workers prepare (and hash the bars); here only check
        except RunConfigError as error:
            runs.append(GridRun(params, None, str(error)))
            continue
        if name is not None:
            config = replace(config, run_id=named_run_id(config, name))
        pending.append((params, config))
    if not pending:
        return runs
    done = 0
    # "spawn": workers never inherit the parent's threads (progress bar) or store connection.
    with ProcessPoolExecutor(
        max_workers=max(1, min(jobs, len(pending))),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(base.bars,),
    ) as pool:
        futures: list[tuple[dict[str, str], Future[Any]]] = [
            (params, pool.submit(_simulate_in_worker, replace(config, bars={}), venues))
            for params, config in pending
        ]
        for params, future in futures:
            try:
                result, events = future.result()
            except StrategyFailedError as error:  # simulated in memory: nothing was recorded
                runs.append(GridRun(params, None, f"strategy failed in {error.hook}: {error}"))
            else:
                runs.append(_recorded(store, params, result, events))
            done += 1
            if progress is not None:
                progress(done, len(futures))
    return runs


def _recorded(
    store: EventStore, params: dict[str, str], result: BacktestResult, events: list[NewEvent]
) -> GridRun:
    """Record a simulated run under its lease; one held by another process is skipped."""
    try:
        with hold_run(store, result.run_id) as lease:
            return GridRun(params, _record(store, result, events, lease))
    except LeaseHeldError as error:
        return GridRun(params, None, str(error))


def _record(
    store: EventStore, result: BacktestResult, events: list[NewEvent], lease: RunLease
) -> BacktestResult:
    recorded = read_run(store, result.run_id)
    already = recorded.events if recorded else 0
    if already and events[already - 1].event_id != f"{result.run_id}:{already}":
        raise RuntimeError(f"run {result.run_id} in the store does not match its replay")
    first = last = 0
    for start in range(already, len(events), APPEND_BATCH):
        lease.check()
        appended = store.append(events[start : start + APPEND_BATCH])
        if appended.positions:
            first = first or appended.positions[0]
            last = appended.positions[-1]
    return replace(
        result, first_position=first, last_position=last, already_recorded=already == len(events)
    )


def rank(runs: list[GridRun], metric: str) -> list[GridRun]:
    """Successful runs best first by ``metric`` (undefined values last), then failures."""
    lower = metric in LOWER_IS_BETTER

    def key(run: GridRun) -> tuple[int, float]:
        assert run.result is not None
        value = run.result.metrics.get(metric)
        if not isinstance(value, int | float) and not _is_number(value):
            return (1, 0.0)
        number = float(value)  # type: ignore[arg-type]
        return (0, number if lower else -number)

    ok = sorted((r for r in runs if r.result is not None), key=key)
    return ok + [r for r in runs if r.result is None]


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True
