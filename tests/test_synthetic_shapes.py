"""The synthetic log (tests/fixtures/synthetic.py) writes the shapes a real engine run writes.

Two real engine runs on the bundled sample bars (one recording its bars, one not) go through
every path the generator imitates: market orders filled in parts under a volume cap, DAY limit
orders that fill, expire or are canceled by the strategy, orders risk refuses, orders the venue
turns down, operator commands between bar times (a limit change, the kill switch canceling the
working orders, trading-state changes) and the cancels at the end of the run. Both logs are then
reduced to their shapes: for each event type the stream kind, actor and cause's type; the order
streams' transitions; the form of every id; and the journal's own rules (one run per batch,
gapless ids and versions, causes recorded earlier in the same run).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise

import pytest

from adapters.marketdata.loader import load_bars
from adapters.marketdata.sample import SAMPLE_CSV
from adapters.venue.simulated import SimulatedVenue, SimulatedVenueConfig
from api.application.runs import BacktestConfig, prepare_run
from domain.engine.engine import TradingEngine
from domain.engine.ports import Rejected, SimulatedClock, VenueOrder, VenueReport
from domain.events.codec import payload_json
from domain.events.envelope import NewEvent
from domain.events.types import ActorKind, OrderType, RunMode, Side, TimeInForce, TradingState
from domain.market import Bar
from domain.risk.engine import RiskEngine
from domain.strategy import Strategy, StrategyError
from tests.fixtures.synthetic import SyntheticLog

BAR_TIMES = 700  # 5-minute bars: two UTC midnights, where DAY orders expire
COMMAND_AT = (200, 500)  # bar times before which an operator sends the drill's commands
SYNTHETIC_BARS = 3_000  # 1-minute bars: two UTC midnights and six drills
ID_FIELDS = (
    "run_id",
    "signal_id",
    "decision_id",
    "client_order_id",
    "order_id",
    "fill_id",
    "venue_order_id",
    "venue_fill_id",
)
Batches = Sequence[Sequence[NewEvent]]


class EveryPath(Strategy):
    """Places, at random (seeded), each kind of order a strategy can ask for."""

    name = "every_path"

    def on_start(self) -> None:
        self.rng = random.Random(3)
        self.limits: list[str] = []

    def on_bar(self, bar: Bar) -> None:
        rng, symbol = self.rng, bar.symbol
        for order_id in [o for o in self.limits if rng.random() < 0.1]:
            self.limits.remove(order_id)
            with suppress(StrategyError):  # it filled or expired first
                self.ctx.cancel_order(order_id)
        held = self.position(symbol) + self.ctx.pending_quantity(symbol)
        size = Decimal(rng.choice(("0.2", "0.5", "1")))
        roll = rng.random()
        if roll < 0.25:
            self.buy(symbol, size)
        elif roll < 0.45 and held > 0:
            self.sell(symbol, min(size, held))
        elif roll < 0.65:
            side = Side.BUY if held <= 0 or rng.random() < 0.5 else Side.SELL
            quantity = size if side is Side.BUY else min(size, held)
            offset = Decimal(rng.randint(1, 60)) / Decimal(10_000)
            ticket = self.ctx.submit_order(
                symbol,
                side,
                quantity,
                order_type=OrderType.LIMIT,
                limit_price=(bar.close * (1 - side.sign * offset)).quantize(Decimal("0.01")),
                time_in_force=TimeInForce.DAY,
            )
            if ticket.approved and ticket.order_id:
                self.limits.append(ticket.order_id)
        elif roll < 0.67:
            self.buy(symbol, Decimal(10_000))  # more than the cash buys: risk refuses it


class TurningDownVenue(SimulatedVenue):
    """The simulated venue, except that it turns down every seventh order as a real venue may
    (the simulated one only rejects malformed orders, which the engine never sends)."""

    submitted = 0

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        self.submitted += 1
        if self.submitted % 7 == 0:
            return [Rejected(order.order_id, "venue busy")]
        return super().submit(order)


def engine_run(bars: dict[str, list[Bar]], *, record_bars: bool) -> list[list[NewEvent]]:
    """A real engine run of ``EveryPath`` with the drill's operator commands between bar times;
    the batches the engine flushed. A backtest's preparation gives the spec (run id, account,
    hashes); it is prepared for a built-in strategy, whose name ``EveryPath``'s replaces."""
    config = BacktestConfig(
        bars=bars,
        strategy="sma_cross",
        params={},
        cash=Decimal(2_000_000),
        account="acct-1",
        record_bars=record_bars,
        venue=SimulatedVenueConfig(volume_cap=Decimal("0.01")),
    )
    prepared = prepare_run(config, RunMode.BACKTEST)
    spec = replace(prepared.spec, strategy=EveryPath.strategy_name())
    batches: list[list[NewEvent]] = []
    engine = TradingEngine(
        spec,
        EveryPath(),
        venue=TurningDownVenue(volume_cap=config.venue.volume_cap),
        risk=RiskEngine(spec.account, config.risk_limits, fee_rate=config.venue.commission),
        sink=_BatchSink(batches),
        clock=SimulatedClock(),
    )
    engine.start(prepared.groups[0][0].time_us)
    for index, group in enumerate(prepared.groups):
        if index in COMMAND_AT:
            _drill(engine)
        engine.process(group)
    engine.stop("data exhausted")
    return batches


class _BatchSink:
    def __init__(self, batches: list[list[NewEvent]]) -> None:
        self.batches = batches

    def append(self, events: Sequence[NewEvent]) -> None:
        self.batches.append(list(events))


def _drill(engine: TradingEngine) -> None:
    ops = {"operator": "ops@example", "reason": "drill"}
    engine.change_limit("max_order_notional", "5000000", **ops)
    engine.engage_kill_switch(**ops)
    engine.release_kill_switch(**ops)
    engine.set_trading_state(TradingState.REDUCING, **ops)
    engine.set_trading_state(TradingState.ACTIVE, **ops)


def _events(batches: Batches) -> list[NewEvent]:
    return [event for batch in batches for event in batch]


def _type(event: NewEvent) -> str:
    return type(event.payload).__name__


def event_shapes(batches: Batches) -> set[tuple[str, str, str, str, str | None]]:
    """(event type, stream kind, actor kind, actor name, cause's type): the actor's name where
    the engine fixes it (system and venue), its kind otherwise."""
    events = _events(batches)
    by_id = {event.event_id: event for event in events}
    fixed = (ActorKind.SYSTEM, ActorKind.VENUE)
    return {
        (
            _type(event),
            event.stream_id.split("-", 1)[0],
            event.actor.kind.value,
            event.actor.name if event.actor.kind in fixed else event.actor.kind.value,
            _type(by_id[event.causation_id]) if event.causation_id else None,
        )
        for event in events
    }


def order_transitions(batches: Batches) -> set[tuple[str, str]]:
    """Which event follows which in an order stream (``start`` and ``end`` at its ends)."""
    streams: dict[str, list[str]] = defaultdict(list)
    for event in _events(batches):
        if event.stream_id.startswith("order-"):
            streams[event.stream_id].append(_type(event))
    return {pair for types in streams.values() for pair in pairwise(["start", *types, "end"])}


def id_forms(batches: Batches) -> set[tuple[str, str, str]]:
    """(event type, field, form): each id with its run's id as ``<run>``, numbers as ``N``."""
    forms: set[tuple[str, str, str]] = set()
    for event in _events(batches):
        run = event.correlation_id or ""
        values = {"event_id": event.event_id, "stream_id": event.stream_id, "correlation": run}
        values |= {f: getattr(event.payload, f) for f in ID_FIELDS if hasattr(event.payload, f)}
        for field, value in values.items():
            if value is None:  # a rejected decision names no order
                forms.add((_type(event), field, "<none>"))
                continue
            form = re.sub(r"[0-9]+", "N", value.replace(run, "<run>"))
            forms.add((_type(event), field, form))
    return forms


def journal_problems(batches: Batches) -> list[str]:
    """Breaks of the journal's rules: a batch is one run's; ids ``{run}:{n}`` and stream
    versions are gapless; a cause was recorded earlier in the same run; event times of a run
    never go back; the run's strategy is the strategy actor."""
    problems: list[str] = []
    sequence: dict[str, int] = defaultdict(int)
    versions: dict[str, int] = defaultdict(int)
    seen: dict[str, set[str]] = defaultdict(set)
    last_time: dict[str, int] = defaultdict(int)
    strategy: dict[str, str] = {}
    for batch in batches:
        if len({event.correlation_id for event in batch}) != 1:
            problems.append(f"a batch of several runs at {batch[0].event_id}")
        for event in batch:
            run = event.correlation_id or ""
            sequence[run] += 1
            versions[event.stream_id] += 1
            strategy.setdefault(run, getattr(event.payload, "strategy", ""))
            if event.event_id != f"{run}:{sequence[run]}":
                problems.append(f"{event.event_id}: expected {run}:{sequence[run]}")
            if event.stream_version != versions[event.stream_id]:
                problems.append(f"{event.event_id}: version gap in {event.stream_id}")
            if event.causation_id and event.causation_id not in seen[run]:
                problems.append(f"{event.event_id}: cause not earlier in its run")
            if event.event_time_us < last_time[run]:
                problems.append(f"{event.event_id}: time goes back")
            if event.actor.kind is ActorKind.STRATEGY and event.actor.name != strategy[run]:
                problems.append(f"{event.event_id}: actor {event.actor.name} is not the run's")
            seen[run].add(event.event_id)
            last_time[run] = event.event_time_us
    return problems


@pytest.fixture(scope="module")
def engine_batches() -> list[list[NewEvent]]:
    bars = {symbol: list(series[:BAR_TIMES]) for symbol, series in load_bars(SAMPLE_CSV).items()}
    return engine_run(bars, record_bars=True) + engine_run(bars, record_bars=False)


@pytest.fixture(scope="module")
def synthetic_batches() -> list[list[NewEvent]]:
    return list(SyntheticLog().batches(SYNTHETIC_BARS))


def test_each_event_type_has_the_engines_stream_actor_and_cause(
    engine_batches: Batches, synthetic_batches: Batches
) -> None:
    assert event_shapes(synthetic_batches) == event_shapes(engine_batches)


def test_order_streams_go_through_the_engines_transitions(
    engine_batches: Batches, synthetic_batches: Batches
) -> None:
    assert order_transitions(synthetic_batches) == order_transitions(engine_batches)


def test_ids_have_the_engines_forms(engine_batches: Batches, synthetic_batches: Batches) -> None:
    assert id_forms(synthetic_batches) == id_forms(engine_batches)
    run_ids = {e.correlation_id or "" for e in _events(synthetic_batches + engine_batches)}
    assert {re.sub("[0-9a-f]{16}$", "H", run_id) for run_id in run_ids} == {"bt-H"}


def test_both_keep_the_journals_rules(engine_batches: Batches, synthetic_batches: Batches) -> None:
    assert journal_problems(engine_batches) == []
    assert journal_problems(synthetic_batches) == []


def test_every_synthetic_payload_validates_to_the_same_bytes(synthetic_batches: Batches) -> None:
    """The generator skips pydantic's checks for speed; the catalog's checks pass on every
    payload it writes and change none of their bytes."""
    for event in _events(synthetic_batches):
        payload = event.payload
        checked = type(payload).model_validate(payload.model_dump())
        assert payload_json(checked) == payload_json(payload), event.event_id


def test_the_same_seed_gives_the_same_log() -> None:
    assert list(SyntheticLog(seed=11).batches(300)) == list(SyntheticLog(seed=11).batches(300))
    assert list(SyntheticLog(seed=11).batches(300)) != list(SyntheticLog(seed=12).batches(300))
