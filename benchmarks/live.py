"""Live trading benchmark (prints one JSON object).

    python -m benchmarks.live --bars 3000 --events 1000000 --orders 1000

- ``tick_to_order``: bar closed (the feed hands the bar group over) -> the order's submit
  reaches the venue adapter ("on the wire"), p50/p99/max in ms, for every order a session
  sends; the log is flushed (and, for SQLite, committed; for Redis with AOF always, fsynced)
  before each send, so this includes that write. Per store: ``sqlite`` and ``redis-always``
  (a redis-server of our own with appendfsync always).
- ``restart_to_ready``: a live run whose log holds ``--events`` events (built by the live
  engine and appended in batches), then ``run_live`` again: seconds from the call until the
  session is reconciled and may trade (read the log, replay it, reconcile), SQLite.
- ``reconcile_open_orders``: a live run with ``--orders`` open limit orders at the venue,
  crashed and restarted: the time of its reconciliation (``reconcile_live``), and of the
  restart to trading-ready.

The venue is the in-process fake exchange of the tests (no network), so the numbers are what
the process itself costs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import api.application.live_session as live_module
from adapters.objectstore import open_object_store
from api.application import live
from api.application.live import LiveParts, run_live
from api.application.live_snapshot import FactsSink, Outside, SessionFacts, take
from domain.engine.live_ports import VenueOrderState
from domain.engine.ports import CollectingSink, VenueOrder, VenueReport
from domain.events.types import OrderType, Side
from domain.live.backoff import Backoff
from domain.market import Bar
from domain.strategy import Strategy
from domain.strategy.params import Param
from domain.strategy.registry import register
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.live.fake_exchange import FakeExchange, TickingFeed
from tests.live.support import SYMBOL, groups, live_config
from tests.services import RedisServer, free_port

BATCH = 10_000


class _Crash(BaseException):
    pass


class TimedExchange(FakeExchange):
    """Notes when each submit reaches it."""

    sent: list[float]

    def submit(self, order: VenueOrder) -> list[VenueReport]:
        self.sent.append(time.perf_counter())
        return super().submit(order)


class TimedFeed(TickingFeed):
    """Notes when each bar group is handed over."""

    def __init__(self, exchange: FakeExchange, bars: Sequence[Sequence[Bar]]) -> None:
        super().__init__(exchange, bars)
        self.closed: list[float] = []

    def __iter__(self) -> Iterator[Sequence[Bar]]:
        for group in super().__iter__():
            self.closed.append(time.perf_counter())
            yield group


@register
class LadderStrategy(Strategy):
    """Places ``orders`` limit buys 5 % below the market on its first bar (within the price
    collar; they stay open while the market does not fall that far)."""

    name = "bench_ladder"
    parameters = {"orders": Param(int, 1000, minimum=1, help="limit orders to place")}

    def on_bar(self, bar: Bar) -> None:
        if getattr(self, "_placed", False):
            return
        self._placed = True
        price = (bar.close * Decimal("0.95")).quantize(Decimal("0.01"))
        for number in range(self.params["orders"]):
            self.ctx.submit_order(  # each at its own price: risk refuses duplicates
                bar.symbol,
                Side.BUY,
                Decimal("0.001"),
                order_type=OrderType.LIMIT,
                limit_price=price - Decimal("0.001") * number,
            )


def _parts(exchange: FakeExchange, feed: Any, **extra: Any) -> LiveParts:
    return LiveParts(
        exchange,
        feed,
        sleep=lambda _: None,
        backoff=Backoff(0.001, 0.001),
        settle_seconds=0.0,
        **extra,
    )


@contextmanager
def _store(kind: str, directory: Path) -> Iterator[EventStore]:
    if kind == "sqlite":
        yield open_event_store(f"sqlite:///{directory}/{kind}.sqlite")
        return
    server_dir = directory / kind
    server_dir.mkdir()
    server = RedisServer(free_port(), server_dir, "always")
    server.start()
    try:
        yield open_event_store(server.url, live=True)
    finally:
        server.kill()


def tick_to_order(kind: str, bars: int, directory: Path) -> dict[str, Any]:
    exchange = TimedExchange()
    exchange.sent = []
    feed = TimedFeed(exchange, groups(bars))
    with _store(kind, directory) as store:
        started = time.perf_counter()
        run_live(live_config(params={"fast": "2", "slow": "4"}), store, _parts(exchange, feed))
        seconds = time.perf_counter() - started
    latencies = []
    for sent in exchange.sent:
        closed = max(t for t in feed.closed if t <= sent)
        latencies.append((sent - closed) * 1000)
    latencies.sort()
    return {
        "store": kind,
        "bars": bars,
        "orders": len(latencies),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "max_ms": round(latencies[-1], 3),
        "bars_per_second": round(bars / seconds, 1),
    }


def restart_to_ready(events: int, directory: Path, *, snapshots: bool) -> dict[str, Any]:
    """A live run of about ``events`` events, written in batches, then restarted; with
    ``snapshots``, one is taken every ``SNAPSHOT_EVERY`` bar times as a live session does,
    over the last 2 % of the events only (a restart loads only the latest; the earlier ones
    would only make building the log slower). ``snapshot_seconds``: taking the last one (wall
    and CPU); ``snapshot_bytes``: its size."""
    name = "snapshots" if snapshots else "replay"
    store = open_event_store(f"sqlite:///{directory}/restart-{name}.sqlite")
    config = live_config()
    objects = open_object_store(f"file://{directory / name}") if snapshots else None
    exchange = FakeExchange()
    strategy = live._strategy(config)
    code = live.source_hash(type(strategy))
    digest = live._config_hash(config, code)
    run_id = live._next_run_id(store, live.ids.run_id(live.RunMode.LIVE, digest))
    session = live.LiveSession(config, store, _parts(exchange, []), strategy)
    session.prepare(run_id, digest=digest, code=code, cash=exchange.cash)
    sink = CollectingSink()
    facts = SessionFacts(0)
    engine = session._build(FactsSink(sink, facts))
    session.switch.current = session.guarded
    outside = Outside(session.switch, session.clock, engine.journal.sink)
    bars = groups(events + 10)
    engine.start(bars[0][0].time_us)
    built = time.perf_counter()
    index, snapshot_seconds, snapshot_cpu_seconds = 0, 0.0, 0.0
    while engine.journal.sequence < events:
        exchange.tick(bars[index][0])
        engine.process(bars[index])
        index += 1
        due = index % config.snapshot_every == 0 and engine.journal.sequence > events * 0.98
        if objects is not None and due:
            taken, taken_cpu = time.perf_counter(), time.process_time()
            done_us = bars[index - 1][0].time_us
            take(
                objects,
                engine,
                facts,
                done_us=done_us,
                bar_times=index,
                outside=outside,
            )
            snapshot_seconds = time.perf_counter() - taken
            snapshot_cpu_seconds = time.process_time() - taken_cpu
    engine.journal.flush()
    build_seconds = time.perf_counter() - built
    appended = time.perf_counter()
    for start in range(0, len(sink.events), BATCH):
        store.append(sink.events[start : start + BATCH])
    append_seconds = time.perf_counter() - appended
    ready: list[float] = []
    started = time.perf_counter()
    cpu = time.process_time()
    feed = TickingFeed(exchange, bars[: index + 1])
    cpu_ready: list[float] = []

    def on_ready(_: str) -> None:
        ready.append(time.perf_counter())
        cpu_ready.append(time.process_time())

    parts = _parts(exchange, feed, on_ready=on_ready, snapshots=objects)
    run_live(replace(config, max_bars=1), store, parts)
    return {
        "snapshots": snapshots,
        "events": len(sink.events),
        "bar_times": index,
        "orders": len(exchange.submits_received),
        "build_seconds": round(build_seconds, 1),
        "append_seconds": round(append_seconds, 1),
        "snapshot_seconds": round(snapshot_seconds, 3),
        "snapshot_cpu_seconds": round(snapshot_cpu_seconds, 3),
        "snapshot_bytes": sum(f.stat().st_size for f in (directory / name).rglob("*.snapshot")),
        "restart_to_ready_seconds": round(ready[0] - started, 2),
        "restart_to_ready_cpu_seconds": round(cpu_ready[0] - cpu, 2),
        "target_seconds": 5,
    }


def reconcile_open_orders(orders: int, directory: Path, *, lost: bool) -> dict[str, Any]:
    """``lost``: the exchange forgot them all while the session was down (each is then looked
    up by client id and recorded canceled)."""
    store = open_event_store(f"sqlite:///{directory}/reconcile-{lost}.sqlite")
    limits = {
        "max_orders_per_second": str(orders * 2),
        "max_strategy_orders_per_second": str(orders * 2),
    }
    config_changes: dict[str, Any] = {"strategy": "bench_ladder", "params": {"orders": str(orders)}}
    base = live_config(**config_changes)
    risk = base.risk_limits.model_copy(update={k: int(v) for k, v in limits.items()})
    changes = config_changes | {"risk_limits": risk}
    exchange = FakeExchange()
    bars = groups(5)

    class Crashing(list[tuple[Bar, ...]]):
        def __iter__(self) -> Iterator[tuple[Bar, ...]]:
            yield from list.__iter__(self)
            raise _Crash

    with suppress(_Crash):
        feed = TickingFeed(exchange, Crashing(bars[:2]))
        run_live(live_config(**changes), store, _parts(exchange, feed))
    open_at_venue = len(exchange.open_orders([SYMBOL]))
    if lost:
        for order in exchange.orders.values():
            order.state = VenueOrderState.CANCELED
    timings: list[float] = []
    original = live_module.reconcile_live

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.append(time.perf_counter() - started)

    live_module.reconcile_live = timed  # type: ignore[assignment]
    ready: list[float] = []
    started = time.perf_counter()
    try:
        parts = _parts(
            exchange,
            TickingFeed(exchange, bars),
            on_ready=lambda _: ready.append(time.perf_counter()),
        )
        run_live(live_config(max_bars=1, **changes), store, parts)
    finally:
        live_module.reconcile_live = original
    return {
        "open_orders": open_at_venue,
        "lost_by_the_venue": lost,
        "reconcile_seconds": round(timings[0], 3),
        "restart_to_ready_seconds": round(ready[0] - started, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=3000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--stores", default="sqlite,redis-always")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip")
    parser.add_argument(
        "--no-replay", action="store_true", help="restart from a snapshot only (no full replay)"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    result: dict[str, Any] = {"python": sys.version.split()[0], "machine": platform.machine()}
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        if "tick" not in skip:
            result["tick_to_order"] = [
                tick_to_order(kind, args.bars, directory) for kind in args.stores.split(",")
            ]
        if "reconcile" not in skip:
            result["reconcile_open_orders"] = [
                reconcile_open_orders(args.orders, directory, lost=lost) for lost in (False, True)
            ]
        if "restart" not in skip:
            result["restart_to_ready"] = [
                restart_to_ready(args.events, directory, snapshots=snapshots)
                for snapshots in (True, False)
                if not (args.no_replay and not snapshots)
            ]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
