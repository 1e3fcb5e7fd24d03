"""The product's Prometheus metrics, defined once for every process that records them.

Append metrics are updated on the event store's hot path, so they are a counter and a
histogram only (an ``inc`` and an ``observe``, about a microsecond together).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter(
    "lh_events_appended", "Events recorded in the event store by this process"
)
APPEND_SECONDS = Histogram(
    "lh_append_seconds",
    "Wall time of one append (a batch of events) through the event store facade",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

PROJECTION_CHECKPOINT = Gauge(
    "lh_projection_checkpoint", "Last global position applied by the read model", ["projection"]
)
PROJECTION_LAG_EVENTS = Gauge(
    "lh_projection_lag_events",
    "Events in the log not yet applied by the read model (head - checkpoint)",
    ["projection"],
)
PROJECTION_LAG_SECONDS = Gauge(
    "lh_projection_lag_seconds",
    "How long the read model has been behind the head of the log (0 when caught up)",
    ["projection"],
)

ORDERS = Counter("lh_orders_submitted", "Orders sent to a venue", ["run_id"])
FILLS = Counter("lh_fills", "Fills recorded", ["run_id"])
REJECTIONS = Counter(
    "lh_order_rejections",
    "Orders refused, by the pre-trade rule that failed (or 'venue' when the venue refused)",
    ["run_id", "rule"],
)
EQUITY = Gauge("lh_session_equity", "Equity at the last valuation", ["run_id"])
PNL = Gauge("lh_session_pnl", "Realized plus unrealized PnL at the last valuation", ["run_id"])
DRAWDOWN = Gauge(
    "lh_session_drawdown_ratio",
    "Fall of equity from its peak in this process, as a fraction of the peak",
    ["run_id"],
)
LIMIT_BREACHED = Gauge(
    "lh_risk_limit_breached",
    "1 while the last pre-trade check failed this loss limit (max_drawdown, max_daily_loss)",
    ["run_id", "rule"],
)
KILL_SWITCH = Gauge(
    "lh_kill_switch_engaged", "1 while the account's kill switch is engaged", ["account"]
)
VENUE_CONNECTED = Gauge("lh_venue_connected", "1 while the venue connection is up", ["venue"])

ARCHIVE_SEALED_TO = Gauge("lh_archive_sealed_to", "Last global position sealed into the archive")
ARCHIVE_LAST_SEAL = Gauge(
    "lh_archive_last_seal_timestamp_seconds", "Unix time the last seal pass succeeded"
)
ARCHIVE_SEAL_FAILURES = Counter(
    "lh_archive_seal_failures", "Seal passes of a scheduled sealer that failed (retried)"
)
