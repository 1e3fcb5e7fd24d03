"""Live trading: one strategy on one venue account, nothing lost, nothing sent twice.

``run_live`` is the run lifecycle of ``runloop`` with live parts:

- gates before anything is recorded: a store that persists every acknowledged event (the
  AOF check; SQLite commits each append) and risk limits set for the account
  (``REQUIRED_LIMITS``, the deployment gate);
- connect (``live_connection``: back-off, clock drift, ``VenueConnectionChanged``), then
  build the engine: a new run starts on the first closed bar; a run the log holds is rebuilt
  from its log (``recovery.resume_live_engine``) and reconciled with the venue
  (``recovery.reconcile_live``) before the first order can go;
- the venue is wrapped in ``GuardedVenue``: the journal is flushed before every send, the
  circuit breaker stops orders and moves trading to its ``open_state`` (HALTED by default)
  while the venue fails, and restores ACTIVE once it answers again;
- the driver feeds closed bars from the ``LiveFeed`` and takes ``lh ctl`` requests after
  each; ``max_bars`` ends the session cleanly (working orders canceled, run stopped).

The same command after a crash resumes the run: its id is derived from the settings. A run
that ended cleanly is not resumed; the next session gets the next id (``<id>.2``, ...).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from urllib.parse import urlsplit

from api.application.live_config import LiveConfig, LiveParts
from api.application.live_session import LiveSession
from api.application.runloop import Flushing, run_recorded
from api.application.runs import BacktestResult, RunConfigError
from api.application.strategies import resolve_strategy, source_hash
from domain import ids
from domain.engine.engine import parse_interval
from domain.events.catalog import StrategyRunStarted, StrategyRunStopped
from domain.events.envelope import RecordedEvent
from domain.events.streams import run_stream
from domain.events.types import RunMode
from domain.strategy import Strategy, StrategyError
from infra.eventstore.durability import require_durable
from infra.eventstore.sink import StoreSink
from infra.eventstore.store import EventStore

__all__ = ["LiveConfig", "LiveParts", "check_deployment", "run_live"]

REQUIRED_LIMITS = ("max_order_notional", "max_position", "max_daily_loss")
"""The limits an operator must set for a live account (``[risk]`` or ``--limit``): the
defaults are sized for backtests, not for real money."""


class DeploymentGateError(RunConfigError):
    """Live trading refused before anything was recorded (limits not set)."""


def check_deployment(config: LiveConfig, store: EventStore) -> None:
    """The gates: a store that keeps every acknowledged event, limits set for the account."""
    if urlsplit(store.url).scheme == "redis":
        require_durable(store.url)
    missing = [name for name in REQUIRED_LIMITS if name not in config.limits_set]
    if missing:
        raise DeploymentGateError(
            f"live trading on account {config.account_name} needs risk limits set: "
            f"{', '.join(missing)} not set; set them in the [risk] table of the config file "
            "or with --limit NAME=VALUE"
        )
    if config.max_bars is not None and config.max_bars < 1:
        raise RunConfigError(f"--max-bars must be at least 1, got {config.max_bars}")
    if config.snapshot_every < 0:
        raise RunConfigError(f"--snapshot-every must be 0 or more, got {config.snapshot_every}")
    try:
        parse_interval(config.timeframe)
    except ValueError as error:
        raise RunConfigError(f"timeframe: {error}") from None


def run_live(config: LiveConfig, store: EventStore, parts: LiveParts) -> BacktestResult:
    """Trade ``config`` on ``parts.venue`` until the feed ends, ``max_bars`` or Ctrl-C."""
    check_deployment(config, store)
    strategy = _strategy(config)
    code = source_hash(type(strategy))
    digest = _config_hash(config, code)
    base = ids.run_id(RunMode.LIVE, digest)
    run_id, recorded = _next_run(store, config.run_id or base, numbered=config.run_id is None)
    if _ended(recorded):
        raise RunConfigError(
            f"run {run_id} ended cleanly (its last event is StrategyRunStopped) and is not "
            "resumed: give another --run-id, or none for an id made from the settings"
        )
    session = LiveSession(config, store, parts, strategy)
    session.connection.connect()
    recorded_cash = _recorded_cash(recorded)
    cash = session.retrying(session.quote_balance) if recorded_cash is None else recorded_cash
    session.prepare(run_id, digest=digest, code=code, cash=cash)
    return run_recorded(
        session.prepared,
        store,
        clock=session.clock,
        flushing=Flushing(1),
        open_sink=lambda lease: StoreSink(store, guard=lease.check),
        drive=session.drive,
        resume=session.resume,
    )


def _strategy(config: LiveConfig) -> Strategy:
    try:
        return resolve_strategy(config.strategy)(config.params)
    except StrategyError as error:
        raise RunConfigError(str(error)) from None


def _config_hash(config: LiveConfig, strategy_hash: str) -> str:
    """SHA-256 of what makes the run: venue, key, symbols, timeframe, strategy and its
    source, parameters, account, limits, costs, breaker and valuation settings."""
    settings = {
        "mode": RunMode.LIVE.value,
        "venue": config.venue,
        "key": config.key,
        "symbols": sorted(config.symbols),
        "timeframe": config.timeframe,
        "strategy": config.strategy,
        "params": dict(sorted(config.params.items())),
        "account": config.account_name,
        "risk_limits": config.risk_limits.model_dump(mode="json"),
        "fee_rate": str(config.fee_rate),
        "breaker_open_state": config.breaker.open_state.value,
        "valuation_interval": config.valuation_interval,
        "strategy_hash": strategy_hash,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _next_run_id(store: EventStore, base: str) -> str:
    """``base``, or the first ``base.N`` whose run has not ended (a crashed run resumes)."""
    return _next_run(store, base, numbered=True)[0]


def _next_run(store: EventStore, base: str, *, numbered: bool) -> tuple[str, list[RecordedEvent]]:
    """The run id to trade under (``_next_run_id``; ``base`` itself unless ``numbered``) and
    the first and last events of its run stream (a long run's stream is large: only they are
    read)."""
    number, run_id = 1, base
    events = _ends(store, run_id)
    while numbered and _ended(events):
        number += 1
        run_id = f"{base}.{number}"
        events = _ends(store, run_id)
    return run_id, events


def _ends(store: EventStore, run_id: str) -> list[RecordedEvent]:
    """The first and the last event of the run's stream (one when it holds one; none)."""
    stream = run_stream(run_id)
    version = store.stream_version(stream)
    if version == 0:
        return []
    first = store.read_stream_after(stream, 0, limit=1)
    return first if version == 1 else first + store.read_stream_after(stream, version - 1)


def _ended(events: list[RecordedEvent]) -> bool:
    """Whether the run's stream ends with ``StrategyRunStopped``."""
    return bool(events) and events[-1].event_type == StrategyRunStopped.event_type()


def _recorded_cash(events: list[RecordedEvent]) -> Decimal | None:
    started = events[0].payload if events else None
    return started.initial_cash if isinstance(started, StrategyRunStarted) else None
