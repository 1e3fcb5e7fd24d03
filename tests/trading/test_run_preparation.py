"""Run preparation and results on their fast paths: the config digest is the documented hash
(run ids derive from it) whether the bars come digested from the loader or as plain lists,
misfiled bars are refused, bar grouping and interval inference agree with plain pairwise loops
on any sequence of bars, and a realistic run's metrics are exactly the point-by-point
reference."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from decimal import Decimal

import pytest

from adapters.marketdata import load_bars
from adapters.marketdata.sample import SAMPLE_CSV
from adapters.venue.simulated import SimulatedVenueConfig
from api.application.runs import (
    BacktestConfig,
    RunConfigError,
    build_engine,
    config_hash,
    group_by_time,
    infer_interval,
    prepare_run,
    result_of,
    run_groups,
)
from api.application.strategies import resolve_strategy, source_hash
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.types import RunMode
from domain.market import INTERVAL_MICROSECONDS, Bar, BarSeries
from domain.risk import RiskLimits
from domain.strategy import StrategyError
from tests.test_metrics import reference_metrics
from tests.trading.helpers import MINUTE_US, bar, wave_bars

D = Decimal


def base_config(**overrides: object) -> BacktestConfig:
    values: dict[str, object] = {
        "bars": {"BTC": wave_bars(300), "ETH": wave_bars(300, "ETH", 50.0)},
        "strategy": "sma_cross",
        "params": {"fast": "5", "slow": "15"},
        "venue": SimulatedVenueConfig(volume_cap=D("0.05")),
    }
    values.update(overrides)
    return BacktestConfig(**values)  # type: ignore[arg-type]


def code_of(config: BacktestConfig) -> str:
    """The strategy's source hash ("" for a name no strategy has: the digest does not check)."""
    try:
        return source_hash(resolve_strategy(config.strategy))
    except StrategyError:
        return ""


def digest_of(config: BacktestConfig, mode: RunMode = RunMode.BACKTEST) -> str:
    return config_hash(config, config.bars, mode, strategy_hash=code_of(config))


def settings_json(config: BacktestConfig, mode: RunMode) -> str:
    """Every setting that can change the events, as sorted JSON."""
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
        "strategy_hash": code_of(config),
    }
    return json.dumps(settings, sort_keys=True, default=str)


def reference_hash(config: BacktestConfig, mode: RunMode) -> str:
    """The digest written the plain way: the settings, then per symbol in name order the line
    ``{symbol} {sha256 of its bar lines}``, one bar line ``symbol,time_us,o,h,l,c,v`` each."""
    text = settings_json(config, mode)
    for symbol in sorted(config.bars):
        lines = "".join(
            f"{symbol},{b.time_us},{b.open},{b.high},{b.low},{b.close},{b.volume}\n"
            for b in config.bars[symbol]
        )
        text += f"{symbol} {hashlib.sha256(lines.encode()).hexdigest()}\n"
    return hashlib.sha256(text.encode()).hexdigest()


def test_config_hash_is_the_documented_digest() -> None:
    config = base_config()
    expected = reference_hash(config, RunMode.BACKTEST)
    assert digest_of(config) == expected
    long = base_config(bars={"BTC": wave_bars(25_003)})  # several chunks, a partial last
    assert digest_of(long, RunMode.PAPER) == reference_hash(long, RunMode.PAPER)
    prepared = prepare_run(config, RunMode.BACKTEST)
    assert prepared.spec.config_hash == expected
    assert prepared.spec.run_id == f"bt-{expected[:16]}"


def test_loaded_series_and_plain_lists_give_the_same_run() -> None:
    """The digest the loader computed from the file's columns is the one plain lists get."""
    loaded = load_bars(SAMPLE_CSV)
    assert all(isinstance(rows, BarSeries) for rows in loaded.values())
    as_lists = {symbol: list(rows) for symbol, rows in loaded.items()}
    series = base_config(bars=loaded)
    lists = base_config(bars=as_lists)
    assert digest_of(series) == digest_of(lists) == reference_hash(lists, RunMode.BACKTEST)
    assert prepare_run(series, RunMode.BACKTEST).spec == prepare_run(lists, RunMode.BACKTEST).spec


def test_a_series_brings_its_own_digest() -> None:
    """No bar is hashed again for a ``BarSeries``: its digest goes in as it is."""
    config = base_config(bars={"BTC": BarSeries.with_digest("BTC", wave_bars(10), "ab" * 32)})
    text = settings_json(config, RunMode.BACKTEST) + f"BTC {'ab' * 32}\n"
    assert digest_of(config) == hashlib.sha256(text.encode()).hexdigest()


def test_a_bar_filed_under_another_symbol_is_refused() -> None:
    config = base_config()
    eth = list(config.bars["ETH"])
    eth[150] = dataclasses.replace(eth[150], symbol="ETH2")
    misfiled = base_config(bars={"BTC": config.bars["BTC"], "ETH": eth})
    with pytest.raises(RunConfigError, match=r"bar 150 of the 'ETH' bars is for symbol 'ETH2'"):
        prepare_run(misfiled, RunMode.BACKTEST)
    renamed = base_config(bars={"XBT": BarSeries("BTC", config.bars["BTC"])})
    with pytest.raises(RunConfigError, match=r"bar 0 of the 'XBT' bars is for symbol 'BTC'"):
        prepare_run(renamed, RunMode.PAPER)


def test_every_bar_field_and_every_setting_changes_the_digest() -> None:
    config = base_config()
    rows = config.bars["ETH"]
    middle = rows[150]
    bar_changes = [
        dataclasses.replace(middle, time_us=middle.time_us + 1),
        *(
            dataclasses.replace(middle, **{name: getattr(middle, name) + D("0.01")})
            for name in ("open", "high", "low", "close", "volume")
        ),
        dataclasses.replace(middle, volume=D(f"{middle.volume}.0")),  # equal value, new text
    ]
    variants = [
        base_config(bars={"BTC": config.bars["BTC"], "ETH": [*rows[:150], b, *rows[151:]]})
        for b in bar_changes
    ]
    variants += [
        base_config(bars={"BTC": config.bars["BTC"], "ETH": rows[:-1]}),
        base_config(
            bars={
                "XBT": [dataclasses.replace(b, symbol="XBT") for b in config.bars["BTC"]],
                "ETH": rows,
            }
        ),
        base_config(strategy="buy_and_hold"),
        base_config(params={"fast": "5", "slow": "16"}),
        base_config(cash=D(100001)),
        base_config(venue=SimulatedVenueConfig(commission=D("0.0010"), volume_cap=D("0.05"))),
        base_config(venue=SimulatedVenueConfig(slippage_bps=D(1), volume_cap=D("0.05"))),
        base_config(venue=SimulatedVenueConfig()),
        base_config(record_bars=True),
        base_config(account="acct"),
        base_config(risk_limits=RiskLimits(max_position=D(5))),
        base_config(valuation_interval="15m"),
    ]
    digests = [digest_of(v) for v in variants] + [digest_of(config, RunMode.PAPER)]
    digests.append(config_hash(config, config.bars, RunMode.BACKTEST, strategy_hash="0" * 64))
    assert len(set(digests)) == len(digests) and digest_of(config) not in digests
    assert digest_of(base_config(run_id="named")) == digest_of(config)  # the id is not content


def reference_groups(bars: dict[str, list[Bar]]) -> list[tuple[Bar, ...]]:
    by_time: dict[int, list[Bar]] = {}
    for symbol in sorted(bars):
        for b in bars[symbol]:
            by_time.setdefault(b.time_us, []).append(b)
    return [tuple(by_time[t]) for t in sorted(by_time)]


def reference_interval(bars: dict[str, list[Bar]]) -> tuple[str, int]:
    steps = [
        b.time_us - a.time_us
        for rows in bars.values()
        for a, b in itertools.pairwise(rows)
        if b.time_us > a.time_us
    ]
    step = min(steps) if steps else INTERVAL_MICROSECONDS["1d"]
    names = {micros: name for name, micros in INTERVAL_MICROSECONDS.items()}
    return names.get(step, f"{step // 1_000_000}s"), step


def shifted(rows: list[Bar], times: list[int]) -> list[Bar]:
    return [dataclasses.replace(b, time_us=t) for b, t in zip(rows, times, strict=True)]


def flat(minute: int, price: str) -> Bar:
    return bar(minute, price, price, price, price)


CASES: dict[str, dict[str, list[Bar]]] = {
    "one symbol, increasing": {"BTC": wave_bars(50)},
    "one bar": {"BTC": wave_bars(1)},
    "one symbol, a repeated time": {"BTC": [flat(0, "1"), flat(0, "2"), flat(1, "1")]},
    "one symbol, out of order": {"BTC": [flat(2, "1"), flat(0, "2"), flat(1, "3")]},
    "two symbols, misaligned": {
        "ETH": wave_bars(40, "ETH")[5:],
        "BTC": shifted(wave_bars(30), [MINUTE_US * 3 * i for i in range(30)]),
    },
    "gaps and a 90 s step": {
        "BTC": shifted(wave_bars(4), [0, 90_000_000, 300_000_000, 3_900_000_000]),
    },
    "15 minute bars": {"BTC": shifted(wave_bars(10), [900_000_000 * i for i in range(10)])},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grouping_and_interval_agree_with_pairwise_loops(name: str) -> None:
    bars = CASES[name]
    assert group_by_time(bars) == reference_groups(bars)
    assert infer_interval(bars) == reference_interval(bars)
    series = {symbol: BarSeries(symbol, rows) for symbol, rows in bars.items()}
    tuples = {symbol: tuple(rows) for symbol, rows in bars.items()}
    for other in (series, tuples):
        assert group_by_time(other) == reference_groups(bars)
        assert infer_interval(other) == reference_interval(bars)


def test_a_realistic_run_gives_exactly_the_metrics_of_its_points() -> None:
    """Both sample symbols, 42 days of 5-minute bars, with fees and slippage: the result's
    metrics equal the reference computed from the engine's ``EquityPoint`` list, as before."""
    config = BacktestConfig(
        bars=load_bars(SAMPLE_CSV),
        strategy="sma_cross",
        params={"fast": "8", "slow": "21", "size": "0.5"},
        venue=SimulatedVenueConfig(commission=D("0.001"), slippage_bps=D(2)),
    )
    prepared = prepare_run(config, RunMode.BACKTEST)
    engine = build_engine(prepared, CollectingSink(), SimulatedClock(), flush_every=1_000)
    engine.start(prepared.groups[0][0].time_us)
    for _ in run_groups(engine, prepared.groups, None):
        pass
    engine.stop("data exhausted")
    result = result_of(engine, prepared, events=0, first_position=0, last_position=0)
    points = engine.equity_curve
    assert list(result.equity_curve) == points and len(points) == len(prepared.groups)
    expected = reference_metrics(
        points,
        engine.book.trades,
        initial_equity=config.cash,
        fees=engine.book.fees,
        traded_notional=engine.traded_notional,
        bars_in_market=engine.bars_in_market,
        total_bars=len(prepared.groups),
    )
    assert result.metrics == expected
    assert isinstance(expected["trades"], int) and expected["trades"] > 10
    assert isinstance(expected["days"], int) and expected["days"] >= 40


@pytest.mark.parametrize(
    ("venue", "mode", "expected"),
    [
        (SimulatedVenueConfig(), RunMode.BACKTEST, "fe3a77a2d60ddf48"),
        (SimulatedVenueConfig(), RunMode.PAPER, "887c02f314cc9e86"),
        (
            SimulatedVenueConfig(
                commission=D("0.0005"), slippage_bps=D("2.5"), volume_cap=D("0.1")
            ),
            RunMode.BACKTEST,
            "5ec786dc6099f328",
        ),
        (
            SimulatedVenueConfig(
                commission=D("0.0005"), slippage_bps=D("2.5"), volume_cap=D("0.1")
            ),
            RunMode.PAPER,
            "e721a900a63181f6",
        ),
    ],
)
def test_the_venue_config_of_its_own_keeps_every_run_id(
    venue: SimulatedVenueConfig, mode: RunMode, expected: str
) -> None:
    """The digests of these configs as they were when the costs were fields of the run's config:
    moving them to ``venue`` must not change a run id (stores resume runs by it)."""
    bars = {"BTC": wave_bars(60), "ETH": wave_bars(60, "ETH", 50.0)}
    config = BacktestConfig(
        bars=bars,
        strategy="sma_cross",
        params={"fast": "5", "slow": "15"},
        risk_limits=RiskLimits(max_position=D(5)),
        venue=venue,
    )
    assert config_hash(config, bars, mode, strategy_hash="ab" * 32)[:16] == expected
