"""Options every long-running command shares: serve Prometheus metrics, log JSON lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from api.cli.common import fail

if TYPE_CHECKING:
    from api.application.bootstrap import App

METRICS_PORT = typer.Option(
    0, "--metrics-port", min=0, help="Serve Prometheus metrics on this port; 0: off."
)
LOG_JSON = typer.Option(
    False, "--log-json", help="Log JSON lines on stderr (also LH_LOG_FORMAT=json)."
)


def observe_process(app: App, *, metrics_port: int, log_json: bool) -> None:
    """Start what the operator asked for: JSON logs, then the metrics server (one line and
    exit 2 when its port cannot be bound). Imported here: structlog and the metrics server
    are ~0.1 s that a command given these options (a backtest) need not pay."""
    from infra.observability.exposition import MetricsPortError, start_metrics_server
    from infra.observability.logging import configure_logging, json_requested

    stores = app.settings.stores
    urls = [stores.event_store, stores.sql_url, stores.clickhouse_url, stores.object_store]
    configure_logging(json_lines=json_requested(log_json), urls=urls)
    if metrics_port:
        try:
            start_metrics_server(metrics_port)
        except MetricsPortError as error:
            raise fail(str(error), 2) from None
