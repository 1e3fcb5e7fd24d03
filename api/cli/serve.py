"""`lh serve`: the REST API (OpenAPI at /api/v1/openapi.json) on uvicorn."""

from __future__ import annotations

import typer
import uvicorn
from rich.text import Text

from api.application.bootstrap import App
from api.cli.common import BAD_INPUT, app_or_exit, err_console, event_store, fail
from api.http.app import DEFAULT_BURST, DEFAULT_RATE, create_app
from api.http.workers import FACTORY, pass_options, settled
from infra.secrets import redact_url
from projections.sql.projection import SqlProjection

MAX_PORT = 65_535
MAX_WORKERS = 64
CorsOption = typer.Option(
    [], "--cors-origin", help="Allow browser calls from this origin (repeatable; off by default)."
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    *,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    cors_origin: list[str] = CorsOption,
    rate: float = typer.Option(
        DEFAULT_RATE, "--rate", help="Requests a second per API key (0: no limit)."
    ),
    burst: int = typer.Option(DEFAULT_BURST, "--burst", help="Burst size per API key."),
    workers: int = typer.Option(
        1, "--workers", help="Worker processes (each with its own rate limiter: per worker)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Check the stores the API reads, then exit without serving."
    ),
) -> None:
    """Serve the REST API: sessions, backtests, risk, operator commands, audit, reports.
    Create a key first: `lh keys api create --owner NAME --role viewer|trader|admin`."""
    if not 0 < port <= MAX_PORT:
        raise fail(f"--port must be from 1 to {MAX_PORT}, got {port}", BAD_INPUT)
    if rate < 0 or burst < 1:
        raise fail("--rate must be >= 0 and --burst >= 1", BAD_INPUT)
    if not 1 <= workers <= MAX_WORKERS:
        raise fail(f"--workers must be from 1 to {MAX_WORKERS}, got {workers}", BAD_INPUT)
    app = app_or_exit()
    head = _check_stores(app)
    where = redact_url(app.settings.stores.event_store)
    if check:
        print(f"ready: event store {where} at position {head}, SQL read model open")
        return
    err_console.print(
        Text(f"serving http://{host}:{port}/api/v1 (docs at /api/v1/docs) over {where}"),
        soft_wrap=True,
    )
    if workers > 1:
        pass_options(cors_origin, rate, burst)
        uvicorn.run(FACTORY, factory=True, workers=workers, host=host, port=port,
                    log_level="warning", access_log=False)  # fmt: skip
        return
    api = settled(create_app(app, cors_origins=cors_origin, rate=rate, burst=burst))
    uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)


def _check_stores(app: App) -> int:
    """Fail now, in one line, on a store that is down (not at the first request)."""
    with event_store(app, read_only=True) as store:
        head = store.head()
    SqlProjection.open(app.settings.stores.sql_url, read_only=True).close()
    return head
