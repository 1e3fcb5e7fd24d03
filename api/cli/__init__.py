"""``lh``: the LiangHua command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

import typer

from api.cli import (
    analytics,
    archive,
    audit,
    catalogs,
    console,
    ctl,
    demo,
    exchange,
    grafana,
    keys,
    keys_venue,
    live,
    projections,
    report,
    serve,
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
keys.app.add_typer(keys_venue.app, name="venue")
app.add_typer(keys.app, name="keys")
app.add_typer(exchange.app, name="exchange")
app.add_typer(grafana.app, name="grafana")
trading.register(app)
demo.register(app)
catalogs.register(app)
serve.register(app)
console.register(app)
live.register(app)


def main() -> None:
    sys.excepthook = masked_excepthook
    app()
