"""``lh``: the LiangHua command line. Each command group lives in its own module, imported only
when one of its commands runs (``api.cli.lazy``): a backtest does not load the API server."""

from __future__ import annotations

import sys

import typer

from api.cli.common import GuardedGroup, masked_excepthook, own_process
from api.cli.lazy import LazyCommand

COMMANDS = (
    LazyCommand(
        "backtest",
        "api.cli.trading:register",
        "Backtest a strategy on a bar file and record the run in the event store.",
    ),
    LazyCommand(
        "optimize",
        "api.cli.trading:register",
        "Backtest every combination of a parameter grid in parallel and rank the runs.",
    ),
    LazyCommand(
        "paper",
        "api.cli.trading:register",
        "Paper-trade a strategy on the wall clock, replaying a bar file; resumes after a crash.\n"
        "Steer a running session from another shell with `lh ctl`.",
    ),
    LazyCommand(
        "demo",
        "api.cli.demo:register",
        "Backtest sma_cross, mean_reversion and momentum on the bundled SYNTHETIC sample data,\n"
        "build the SQL, ClickHouse and object-store read models, print analytics, seal the log.",
    ),
    LazyCommand(
        "serve",
        "api.cli.serve:register",
        "Serve the REST API: sessions, backtests, risk, operator commands, audit, reports.\n"
        "Create a key first: `lh keys api create --owner NAME --role viewer|trader|admin`.",
    ),
    LazyCommand(
        "console",
        "api.cli.console:register",
        "Watch positions, PnL, open orders, alerts and read-model lag; `k` engages a run's kill\n"
        "switch (after a confirmation with a reason). The key is read from an environment\n"
        "variable, never from the command line.",
    ),
    LazyCommand(
        "live",
        "api.cli.live:register",
        "Trade live: refuses a store that could lose acknowledged events and an account without\n"
        "risk limits; reconciles with the exchange before trading; the same command resumes after\n"
        "a crash. Steer it from another shell with `lh ctl`.",
    ),
    LazyCommand("store", "api.cli.store:app", "Inspect the event log."),
    LazyCommand(
        "archive",
        "api.cli.archive:app",
        "Durable log: sealed, hash-chained segments in the object store.",
    ),
    LazyCommand(
        "projections",
        "api.cli.projections:app",
        "Read models: run them, show their lag, rebuild and verify them.",
    ),
    LazyCommand(
        "analytics",
        "api.cli.analytics:app",
        "Analytics over the ClickHouse read model: named queries and read-only SQL.",
    ),
    LazyCommand("audit", "api.cli.audit:app", "Audit replay straight from the event log."),
    LazyCommand(
        "ctl",
        "api.cli.ctl:app",
        "Steer a running paper session (kill switch, trading state, limits, cancels).",
    ),
    LazyCommand(
        "report",
        "api.cli.report:app",
        "Trade and filing reports from the log: HTML, PDF, CSV, JSON, every figure cross-checked "
        "by replay, published to the object store.",
    ),
    LazyCommand(
        "keys",
        "api.cli.keys:app",
        "Credentials: API keys (`lh keys api`) and venue keys (`lh keys venue`).",
    ),
    LazyCommand(
        "exchange", "api.cli.exchange:app", "The local exchange: a Binance-compatible test venue."
    ),
    LazyCommand("grafana", "api.cli.grafana:app", "Grafana: datasources and dashboards as code."),
    LazyCommand("limits", "api.cli.catalogs:register", "Pre-trade risk limits."),
    LazyCommand("strategies", "api.cli.catalogs:register", "Built-in strategies."),
)


class LhGroup(GuardedGroup):
    """``lh`` itself: the guarded group of ``COMMANDS``."""

    lazy_commands = COMMANDS


def _group() -> None:
    """``lh``'s callback, doing nothing: with it typer builds ``lh`` as a group although every
    command is registered lazily, none through typer."""


app = typer.Typer(
    name="lh",
    cls=LhGroup,
    callback=_group,
    help="LiangHua: event-sourced quant trading (backtests, paper, audit, analytics, recovery).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def main() -> None:
    sys.excepthook = masked_excepthook
    own_process()
    app()
