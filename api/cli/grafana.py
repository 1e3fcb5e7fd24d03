"""`lh grafana provision`: upload the LiangHua datasources, folder and dashboards to Grafana,
idempotently (by uid; a second run changes nothing)."""

from __future__ import annotations

import json
import os
from urllib.parse import unquote, urlsplit

import typer
from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException
from rich.table import Table

from api.cli.common import app_or_exit, console, fail
from infra.observability.grafana.dashboards import dashboards
from infra.observability.grafana.provision import Targets, datasources, provision
from infra.secrets import redact_url

app = typer.Typer(help="Grafana: datasources and dashboards as code.", no_args_is_help=True)

DEFAULT_CLICKHOUSE = "http://default:@clickhouse:8123/lianghua"


def _targets(prometheus_url: str, clickhouse_url: str | None) -> Targets:
    """The datasources' targets; ClickHouse from --clickhouse-url, else LH_CLICKHOUSE_URL when
    it is a server (http), else the compose stack's."""
    if clickhouse_url is None:
        configured = app_or_exit().settings.clickhouse_url
        clickhouse_url = configured if configured.startswith("http") else DEFAULT_CLICKHOUSE
    parts = urlsplit(clickhouse_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise fail(
            f"--clickhouse-url must be http(s)://user:password@host:port/database, got "
            f"{redact_url(clickhouse_url)}",
            2,
        )
    return Targets(
        prometheus_url=prometheus_url,
        clickhouse_host=parts.hostname,
        clickhouse_port=parts.port or 8123,
        clickhouse_database=parts.path.strip("/") or "default",
        clickhouse_user=unquote(parts.username or "default"),
        clickhouse_password=unquote(parts.password or ""),
    )


@app.command("provision")
def provision_command(
    url: str = typer.Option(..., "--url", help="Grafana's base URL, e.g. http://grafana:3000."),
    token_env: str = typer.Option(
        ..., "--token-env", help="Environment variable holding a Grafana service account token."
    ),
    prometheus_url: str = typer.Option(
        "http://prometheus:9090", "--prometheus-url", help="Prometheus as Grafana reaches it."
    ),
    clickhouse_url: str | None = typer.Option(
        None,
        "--clickhouse-url",
        help="ClickHouse as Grafana reaches it, http://user:password@host:port/database "
        "(default: LH_CLICKHOUSE_URL when it is http, else the compose stack's).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be uploaded (passwords masked); send nothing."
    ),
) -> None:
    """Create or update the datasources, the LiangHua folder and the dashboards (by uid)."""
    targets = _targets(prometheus_url, clickhouse_url)
    if dry_run:
        sources = datasources(targets)
        for source in sources:
            if "secureJsonData" in source:
                source["secureJsonData"] = {"password": "***"}
        print(json.dumps({"datasources": sources, "dashboards": dashboards()}, indent=2))
        return
    token = os.environ.get(token_env, "")
    if not token:
        raise fail(f"{token_env} is empty or not set: it must hold the Grafana API token", 2)
    api = GrafanaApi.from_url(url, credential=token, timeout=10.0)
    shown = redact_url(url)
    try:
        report = provision(api, targets)
    except GrafanaException as error:
        raise fail(f"Grafana at {shown} refused: {error.status_code} {error.message}", 2) from None
    except OSError as error:
        raise fail(f"cannot reach Grafana at {shown}: {error}", 2) from None
    table = Table("object", "action", title=f"Grafana at {shown}")
    for name, action in report.actions.items():
        table.add_row(name, action)
    console.print(table)
    console.print("changed" if report.changed else "already up to date")
