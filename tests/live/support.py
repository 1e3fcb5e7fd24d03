"""Running live sessions against the fake exchange in tests (in process, or as a child)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from adapters.objectstore import ObjectStore
from api.application.live import LiveConfig, LiveParts, run_live
from api.application.recorded_run import run_events
from api.application.runs import BacktestResult
from domain.events.catalog import FillRecorded, OrderSubmitted
from domain.events.envelope import RecordedEvent
from domain.live.backoff import Backoff
from domain.market import Bar
from domain.risk import RiskLimits
from infra.eventstore.store import EventStore
from tests.live.fake_exchange import FakeExchange, TickingFeed
from tests.trading.helpers import wave_bars

SYMBOL = "BTC/USDT"
LIMITS = {"max_order_notional": "100000", "max_position": "10", "max_daily_loss": "50000"}


def live_config(**changes: object) -> LiveConfig:
    fields: dict[str, object] = {
        "venue": "binance",
        "key": "test",
        "symbols": (SYMBOL,),
        "timeframe": "1m",
        "strategy": "sma_cross",
        "params": {"fast": "3", "slow": "8"},
        "risk_limits": RiskLimits.model_validate(LIMITS),
        "limits_set": frozenset(LIMITS),
    }
    fields.update(changes)
    return LiveConfig(**fields)  # type: ignore[arg-type]


def groups(count: int) -> list[tuple[Bar, ...]]:
    return [(bar,) for bar in wave_bars(count, SYMBOL)]


def session(
    store: EventStore,
    exchange: FakeExchange,
    bars: Sequence[tuple[Bar, ...]],
    *,
    monotonic: Callable[[], float] = time.monotonic,
    on_ready: Callable[[str], None] = lambda run_id: None,
    snapshots: ObjectStore | None = None,
    **changes: object,
) -> BacktestResult:
    """One live session over ``bars`` (no waiting: back-off sleeps are skipped), saving its
    snapshots in ``snapshots``."""
    parts = LiveParts(
        exchange,
        TickingFeed(exchange, bars),
        sleep=lambda _: None,
        monotonic=monotonic,
        backoff=Backoff(0.01, 0.01),
        on_ready=on_ready,
        settle_seconds=0.0,
        snapshots=snapshots,
    )
    return run_live(live_config(**changes), store, parts)


ROOT = Path(__file__).resolve().parents[2]


def run_lh(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``lh ARGS`` in a fresh interpreter with ``env``, output captured."""
    command = [sys.executable, "-m", "api", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def add_venue_key(env: dict[str, str]) -> None:
    """Store the venue key ``main`` (binance) from ``$KEY`` and ``$SECRET`` of ``env``."""
    added = run_lh(env, "keys", "venue", "add", "main", "--exchange", "binance",
                   "--api-key-env", "KEY", "--secret-env", "SECRET")  # fmt: skip
    assert added.returncode == 0, added.stderr


def log_of(store: EventStore, run_id: str) -> list[RecordedEvent]:
    read = run_events(store, run_id)
    assert read is not None
    return read[0]


def check_agreement(store: EventStore, run_id: str, exchange: FakeExchange) -> None:
    """The log and the exchange agree: no client id sent twice, every fill once, positions."""
    events = log_of(store, run_id)
    submitted = [e.payload.order_id for e in events if isinstance(e.payload, OrderSubmitted)]
    assert len(submitted) == len(set(submitted))
    received = Counter(exchange.submits_received)
    assert all(count == 1 for count in received.values()), received
    assert set(received) <= set(submitted)
    logged = Counter(e.payload.venue_fill_id for e in events if isinstance(e.payload, FillRecorded))
    assert all(count == 1 for count in logged.values()), logged
    assert set(logged) == {f.venue_fill_id for f in exchange.fills}
    fills = [e.payload for e in events if isinstance(e.payload, FillRecorded)]
    position = sum((fill.side.sign * fill.quantity for fill in fills), Decimal(0))
    assert position == exchange.balances_held.get("BTC", Decimal(0))


def exchange_at(path: Path | None = None) -> FakeExchange:
    return FakeExchange(path=path)
