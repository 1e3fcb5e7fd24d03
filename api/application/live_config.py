"""What defines a live run (``LiveConfig``) and what it talks to (``LiveParts``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from adapters.objectstore import ObjectStore
from api.application.live_snapshot import SNAPSHOT_EVERY
from domain import ids
from domain.engine.live_ports import LiveVenue
from domain.engine.ports import LiveFeed
from domain.events.types import TradingState
from domain.live.backoff import Backoff
from domain.risk import RiskLimits


@dataclass(frozen=True)
class BreakerSettings:
    """When the circuit breaker opens (see ``domain.live.breaker``) and what it does to
    trading then (``open_state``: HALTED, or REDUCING to let positions be closed)."""

    failure_threshold: int = 5
    timeout_budget_seconds: float = 30.0
    open_seconds: float = 30.0
    open_state: TradingState = TradingState.HALTED


@dataclass(frozen=True)
class LiveConfig:
    """What defines a live run (its id is derived from all but ``max_bars``)."""

    venue: str
    key: str
    symbols: tuple[str, ...]
    timeframe: str
    strategy: str
    params: dict[str, str]
    risk_limits: RiskLimits
    limits_set: frozenset[str]
    """The limits the operator set explicitly (the deployment gate reads it)."""
    account: str | None = None
    run_id: str | None = None
    max_bars: int | None = None
    fee_rate: Decimal = Decimal("0.001")
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    max_drift_ms: float = 1_000.0
    valuation_interval: str = "1h"
    snapshot_every: int = SNAPSHOT_EVERY
    """Bar times between two snapshots (``live_snapshot``; 0: none)."""

    @property
    def account_name(self) -> str:
        return self.account or f"{self.venue}:{self.key}"


@dataclass
class LiveParts:
    """What a live run talks to, and the clocks it waits with (tests inject their own)."""

    venue: LiveVenue
    feed: LiveFeed
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    backoff: Backoff = field(default_factory=Backoff)
    client_order_id: Callable[[str], str] = ids.venue_client_order_id
    settle_seconds: float = 10.0
    """How long a submit without an answer may still reach the venue (its receive window and
    more): an uncertain order is taken as never received only after this, and a restart
    reconciles no sooner than this after the log's last event."""
    on_ready: Callable[[str], None] = lambda run_id: None
    """Called with the run id once the session is reconciled and may trade."""
    snapshots: ObjectStore | None = None
    """Where the session's snapshots go (``live_snapshot``); ``None``: none are taken."""
