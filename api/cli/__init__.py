"""``lh``: the LiangHua command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from api.cli import (
    analytics,
    archive,
    audit,
    catalogs,
    ctl,
    demo,
    exchange,
    keys_venue,
    live,
    projections,
    report,
    store,
    trading,
)
from api.cli.common import GuardedGroup, masked_excepthook

app = typer.Typer(
    name="lh",
    cls=GuardedGroup,
    help="LiangHua: event-sourced quant trading (backtests, paper, audit, analytics, recovery).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(store.app, name="store")
app.add_typer(archive.app, name="archive")
app.add_typer(projections.app, name="projections")
app.add_typer(analytics.app, name="analytics")
app.add_typer(audit.app, name="audit")
app.add_typer(ctl.app, name="ctl")
app.add_typer(report.app, name="report")
app.add_typer(exchange.app, name="exchange")
trading.register(app)
demo.register(app)
catalogs.register(app)
live.register(app)
keys = typer.Typer(help="API keys (venue credentials for live trading).", no_args_is_help=True)
keys.add_typer(keys_venue.app, name="venue")
app.add_typer(keys, name="keys")


def main() -> None:
    sys.excepthook = masked_excepthook
    app()
