"""The engine loop: causality chain, kill switch, REDUCING, determinism, paper == backtest."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from adapters.venue.simulated import SimulatedVenueConfig
from api.application.backtest import run_backtest
from api.application.optimize import simulate
from api.application.paper import run_paper
from api.application.runs import BacktestConfig, build_engine, prepare_run
from domain.engine.engine import TradingEngine
from domain.engine.ports import CollectingSink, SimulatedClock
from domain.events.catalog import (
    FillRecorded,
    KillSwitchEngaged,
    OrderCanceled,
    OrderCancelRequested,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSubmitted,
    RiskDecisionMade,
    SignalGenerated,
    StrategyRunStarted,
)
from domain.events.envelope import NewEvent, to_microseconds
from domain.events.types import OrderType, RunMode, Side, TimeInForce, TradingState
from domain.market import Bar
from domain.strategy import Strategy, StrategyError
from infra.eventstore.factory import open_event_store
from tests.trading.helpers import START_US, bar, wave_bars

D = Decimal


def sma_config(**overrides: object) -> BacktestConfig:
    values: dict[str, object] = {
        "bars": {"BTC": wave_bars(240), "ETH": wave_bars(240, "ETH", 50.0)},
        "strategy": "sma_cross",
        "params": {"fast": "5", "slow": "15", "size": "2"},
        "record_bars": True,
    }
    values.update(overrides)
    return BacktestConfig(**values)  # type: ignore[arg-type]


def test_every_fill_walks_back_to_the_bar_that_caused_it() -> None:
    result, events = simulate(sma_config())
    by_id = {e.event_id: e for e in events}
    assert len(by_id) == len(events) == result.events
    assert all(e.correlation_id == result.run_id for e in events)
    assert [e.event_id for e in events] == [
        f"{result.run_id}:{i}" for i in range(1, len(events) + 1)
    ]
    fills = [e for e in events if isinstance(e.payload, FillRecorded)]
    assert len(fills) > 10
    for fill in fills:
        chain = [fill]
        while chain[-1].causation_id is not None:
            chain.append(by_id[chain[-1].causation_id])
        assert [e.payload.event_type() for e in chain] == [
            "FillRecorded",
            "OrderSubmitted",
            "RiskDecisionMade",
            "SignalGenerated",
            "BarClosed",
        ]
        submitted, decision, signal = chain[1].payload, chain[2].payload, chain[3].payload
        assert isinstance(submitted, OrderSubmitted) and isinstance(decision, RiskDecisionMade)
        assert isinstance(signal, SignalGenerated)
        assert submitted.decision_id == decision.decision_id and decision.approved
        assert decision.signal_id == signal.signal_id
        bar_closed = chain[-1]
        assert fill.event_time_us >= bar_closed.event_time_us  # the next bar's open at the earliest
        assert to_microseconds(bar_closed.payload.open_time) < fill.event_time_us  # type: ignore[attr-defined]
    filled = [e for e in events if isinstance(e.payload, OrderFilled)]
    assert all(by_id[e.causation_id].payload.event_type() == "FillRecorded" for e in filled)  # type: ignore[index]
    assert len(result.trades) > 3


class RestingBuyer(Strategy):
    """Places one resting limit buy 5% under the first close, then more on request."""

    name = "resting"

    def on_start(self) -> None:
        self.tickets: list[object] = []

    def on_bar(self, bar: Bar) -> None:
        if not self.tickets:
            self.tickets.append(
                self.ctx.submit_order(
                    bar.symbol,
                    Side.BUY,
                    D(1),
                    order_type=OrderType.LIMIT,
                    limit_price=(bar.close * D("0.95")).quantize(D("0.01")),
                )
            )


def engine_with(strategy: Strategy) -> tuple[TradingEngine, CollectingSink, list[list[Bar]]]:
    config = sma_config(bars={"BTC": wave_bars(30)})
    prepared = prepare_run(config, RunMode.BACKTEST)
    prepared = type(prepared)(config, strategy, prepared.groups, prepared.spec)
    sink = CollectingSink()
    engine = build_engine(prepared, sink, SimulatedClock(), flush_every=1)
    engine.start(prepared.groups[0][0].time_us)
    return engine, sink, prepared.groups


def payloads(events: list[NewEvent], kind: type) -> list[NewEvent]:
    return [e for e in events if isinstance(e.payload, kind)]


def test_kill_switch_cancels_open_orders_and_blocks_new_ones() -> None:
    strategy = RestingBuyer()
    engine, sink, groups = engine_with(strategy)
    engine.process(groups[0])
    assert len(engine.orders) == 1
    engine.engage_kill_switch(operator="alice", reason="runaway strategy")
    [kill] = payloads(sink.events, KillSwitchEngaged)
    assert (kill.payload.operator, kill.payload.reason) == ("alice", "runaway strategy")  # type: ignore[attr-defined]
    assert kill.actor.name == "alice"
    [request] = payloads(sink.events, OrderCancelRequested)
    [canceled] = payloads(sink.events, OrderCanceled)
    assert request.causation_id == kill.event_id and canceled.causation_id == request.event_id
    assert engine.orders == {}
    ticket = engine.submit(
        "BTC",
        Side.BUY,
        D(1),
        order_type=OrderType.MARKET,
        limit_price=None,
        stop_price=None,
        time_in_force=TimeInForce.GTC,
        reason="after kill",
    )
    assert not ticket.approved and "kill_switch" in ticket.reason
    engine.release_kill_switch(operator="bob", reason="fixed")
    assert [e.payload.event_type() for e in sink.events[-1:]] == ["KillSwitchReleased"]


def test_reducing_state_admits_only_position_reducing_orders() -> None:
    engine, sink, groups = engine_with(RestingBuyer())
    engine.process(groups[0])
    engine.cancel_order(next(iter(engine.orders)), reason="test", requested_by="test")
    engine.book.apply_fill("BTC", Side.BUY, D(3), D(100), fee=D(0), time_us=1)
    engine.set_trading_state(TradingState.REDUCING, operator="ops", reason="wind down")

    def order(side: Side, quantity: str) -> bool:
        return engine.submit(
            "BTC",
            side,
            D(quantity),
            order_type=OrderType.MARKET,
            limit_price=None,
            stop_price=None,
            time_in_force=TimeInForce.GTC,
            reason="test",
        ).approved

    assert not order(Side.BUY, "1")
    assert not order(Side.SELL, "4")  # would flip short
    assert order(Side.SELL, "2")
    assert [
        e.payload.event_type() for e in sink.events if e.payload.event_type().startswith("Trading")
    ] == ["TradingStateChanged"]


def store_state(path: Path, config: BacktestConfig) -> list[bytes]:
    store = open_event_store(f"sqlite:///{path}", clock=lambda: 1_700_000_000_000_000)
    run_backtest(config, store)
    states = [n.state for page in store.read_notifications() for n in page]
    topics = [n.topic for page in store.read_notifications() for n in page]
    store.close()
    assert "FillRecorded" in topics
    return states


def test_same_backtest_twice_gives_byte_identical_logs(tmp_path: Path) -> None:
    config = sma_config(venue=SimulatedVenueConfig(slippage_bps=D(5), volume_cap=D("0.02")))
    first = store_state(tmp_path / "a.sqlite", config)
    second = store_state(tmp_path / "b.sqlite", config)
    assert len(first) > 100
    assert first == second


def test_paper_and_backtest_record_the_same_payloads(tmp_path: Path) -> None:
    config = sma_config(run_id="same-run")
    backtest_store = open_event_store(f"sqlite:///{tmp_path / 'bt.sqlite'}")
    paper_store = open_event_store(f"sqlite:///{tmp_path / 'paper.sqlite'}")
    backtest = run_backtest(config, backtest_store)
    paper = run_paper(config, paper_store, speed=0)
    assert paper.final_equity == backtest.final_equity
    assert paper.trades == backtest.trades

    def recorded(store: object) -> list[tuple[str, str, dict[str, object]]]:
        out = []
        for event in store.read_all():  # type: ignore[attr-defined]
            data = dict(event.data)
            if event.event_type == StrategyRunStarted.event_type():
                assert data.pop("mode") in (RunMode.BACKTEST.value, RunMode.PAPER.value)
                data.pop("config_hash")
            out.append((event.event_id, event.event_type, data))
        return out

    paper_events, backtest_events = recorded(paper_store), recorded(backtest_store)
    assert len(paper_events) > 100
    assert paper_events == backtest_events


def test_book_folded_from_the_logged_fills_matches_the_last_valuation(tmp_path: Path) -> None:
    from api.application.recorded_run import read_run
    from domain.events.catalog import PortfolioValued

    store = open_event_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    result = run_backtest(
        sma_config(venue=SimulatedVenueConfig(volume_cap=D("0.03"), slippage_bps=D(3))), store
    )
    events = list(store.read_all(verify=True))
    fills = [e.payload for e in events if isinstance(e.payload, FillRecorded)]
    [*_, last] = [e.payload for e in events if isinstance(e.payload, PortfolioValued)]
    assert isinstance(last, PortfolioValued)
    for symbol in ("BTC", "ETH"):
        signed = sum((f.side.sign * f.quantity for f in fills if f.symbol == symbol), D(0))
        assert last.positions.get(symbol, D(0)) == signed
    assert last.fees == sum((f.fee for f in fills), D(0))
    folded = read_run(store, result.run_id)
    assert folded is not None and folded.stopped
    assert (folded.book.cash, folded.book.fees, folded.book.realized) == (
        last.cash,
        last.fees,
        last.realized_pnl,
    )
    assert sum((t.pnl for t in result.trades), D(0)) == sum(
        (t.pnl for t in folded.book.trades), D(0)
    )
    store.close()


class LifecycleProbe(Strategy):
    """On the first bar: a big market buy (volume-capped) and a DAY limit that never fills."""

    name = "lifecycle"

    def on_bar(self, bar: Bar) -> None:
        if bar.time_us == START_US:
            self.ctx.submit_order("BTC", Side.BUY, D(25))
            self.ctx.submit_order(
                "BTC",
                Side.BUY,
                D(1),
                order_type=OrderType.LIMIT,
                limit_price=D(95),
                time_in_force=TimeInForce.DAY,
            )


def test_partial_fills_and_expiry_become_order_events() -> None:
    day = 24 * 60
    bars = [
        bar(0, "100", "101", "99", "100", "100"),
        bar(1, "100", "101", "99", "100", "100"),
        bar(2, "102", "103", "99", "100", "100"),
        bar(day, "100", "101", "99", "100", "1000"),
    ]
    config = BacktestConfig(
        bars={"BTC": bars},
        strategy="sma_cross",
        params={},
        venue=SimulatedVenueConfig(volume_cap=D("0.1"), commission=D(0)),
    )
    prepared = prepare_run(config, RunMode.BACKTEST)
    prepared = type(prepared)(config, LifecycleProbe(), prepared.groups, prepared.spec)
    sink = CollectingSink()
    engine = build_engine(prepared, sink, SimulatedClock(), flush_every=1)
    engine.start(START_US)
    for group in prepared.groups:
        engine.process(group)
    market = [e.payload for e in sink.events if e.stream_id.endswith("-o1")]
    assert [type(p).__name__ for p in market] == [
        "OrderSubmitted",
        "OrderAccepted",
        "FillRecorded",
        "OrderPartiallyFilled",
        "FillRecorded",
        "OrderPartiallyFilled",
        "FillRecorded",
        "OrderFilled",
    ]
    partial = market[5]
    assert isinstance(partial, OrderPartiallyFilled)
    assert (partial.filled_quantity, partial.leaves_quantity, partial.average_price) == (
        D(20),
        D(5),
        D(101),
    )
    done = market[-1]
    assert isinstance(done, OrderFilled) and done.filled_quantity == D(25)
    limit = [type(e.payload).__name__ for e in sink.events if e.stream_id.endswith("-o2")]
    assert limit == ["OrderSubmitted", "OrderAccepted", "OrderExpired"]
    assert engine.book.position("BTC") == D(25) and engine.orders == {}


def test_replay_feed_paces_bars_at_the_chosen_speed() -> None:
    from api.application.paper import ReplayFeed

    groups = [[b] for b in wave_bars(4)]
    pauses: list[float] = []
    feed = ReplayFeed(groups, interval_us=60_000_000, speed=60, sleep=pauses.append)
    assert list(feed) == groups and pauses == [1.0, 1.0, 1.0]
    pauses.clear()
    assert list(ReplayFeed(groups, interval_us=60_000_000, speed=0, sleep=pauses.append)) == groups
    assert pauses == []


def test_unusual_order_requests_are_validated_and_bad_ones_refused_before_recording() -> None:
    engine, sink, groups = engine_with(RestingBuyer())
    engine.process(groups[0])

    def submit(side: object, quantity: object, **prices: object) -> object:
        return engine.submit(
            "BTC",
            side,  # type: ignore[arg-type]
            quantity,  # type: ignore[arg-type]
            order_type=OrderType.LIMIT if prices else OrderType.MARKET,
            limit_price=prices.get("limit"),  # type: ignore[arg-type]
            stop_price=None,
            time_in_force=TimeInForce.GTC,
            reason="probe",
        )

    recorded = len(sink.events) + len(engine.journal.pending)
    for side, quantity, prices in [
        (Side.BUY, D(-1), {}),
        (Side.BUY, D("NaN"), {}),
        (Side.BUY, D(0), {}),
        ("SIDEWAYS", D(1), {}),
        (Side.BUY, D(1), {"limit": D(-5)}),
    ]:
        with pytest.raises(StrategyError, match="invalid order request"):
            submit(side, quantity, **prices)
    assert len(sink.events) + len(engine.journal.pending) == recorded
    # values pydantic accepts (a str side, a float quantity) are recorded in their exact form
    engine.book.apply_fill("BTC", Side.BUY, D(1), D(100), fee=D(0), time_us=1)  # to sell from
    ticket = submit("SELL", 0.1)
    assert ticket.approved  # type: ignore[attr-defined]
    signal = [e.payload for e in engine.journal.pending if isinstance(e.payload, SignalGenerated)]
    assert (signal[-1].side, signal[-1].quantity) == (Side.SELL, D("0.1"))


def test_a_buy_the_cash_cannot_pay_is_refused_and_recorded() -> None:
    result, events = simulate(sma_config(cash=D(1)))
    decisions = [e.payload for e in events if isinstance(e.payload, RiskDecisionMade)]
    assert decisions and not any(d.approved for d in decisions)
    for decision in decisions:
        [rule] = [r for r in decision.rules if r["rule"] == "buying_power"]
        assert not rule["passed"] and rule["limit"] == "1"
        assert D(rule["value"]) > D(1)  # quantity x price x (1 + commission)
    assert not [e for e in events if isinstance(e.payload, FillRecorded)]
    assert result.final_equity == D(1)


def test_open_buy_orders_reserve_cash_until_they_fill_or_are_canceled() -> None:
    engine, _, groups = engine_with(RestingBuyer())
    engine.process(groups[0])
    [resting] = engine.orders.values()
    assert engine.reserved == resting.quantity * resting.unit_cost > 0
    price = engine.book.marks["BTC"]
    # Costs more than the cash the resting order leaves, less than all the cash.
    quantity = ((engine.book.cash - engine.reserved / 2) / (price * D("1.001"))).quantize(
        D("0.01"), ROUND_DOWN
    )

    def buy() -> list[str]:
        return (
            engine.submit(
                "BTC",
                Side.BUY,
                quantity,
                order_type=OrderType.LIMIT,
                limit_price=price,
                stop_price=None,
                time_in_force=TimeInForce.GTC,
                reason="probe",
            )
            .reason.removeprefix("rejected by ")
            .split(", ")
        )

    assert buy() == ["buying_power"]
    decision = [
        e.payload for e in engine.journal.pending if isinstance(e.payload, RiskDecisionMade)
    ]
    [rule] = [r for r in decision[-1].rules if r["rule"] == "buying_power"]
    assert "reserved by open orders" in rule["detail"]
    engine.cancel_order(resting.order_id, reason="free the cash", requested_by="test")
    assert engine.reserved == 0
    assert buy() == [""]
