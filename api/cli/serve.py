"""`lh serve`: the REST API (OpenAPI at /api/v1/openapi.json) on uvicorn."""

from __future__ import annotations

import typer
import uvicorn

from api.cli.common import BAD_INPUT, app_or_exit, fail
from api.http.app import DEFAULT_BURST, DEFAULT_RATE, create_app

MAX_PORT = 65_535
CorsOption = typer.Option(
    [], "--cors-origin", help="Allow browser calls from this origin (repeatable; off by default)."
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    cors_origin: list[str] = CorsOption,
    rate: float = typer.Option(
        DEFAULT_RATE, "--rate", help="Requests a second per API key (0: no limit)."
    ),
    burst: int = typer.Option(DEFAULT_BURST, "--burst", help="Burst size per API key."),
) -> None:
    """Serve the REST API: sessions, backtests, risk, operator commands, audit, reports.
    Create a key first: `lh keys api create --owner NAME --role viewer|trader|admin`."""
    if not 0 < port <= MAX_PORT:
        raise fail(f"--port must be from 1 to {MAX_PORT}, got {port}", BAD_INPUT)
    if rate < 0 or burst < 1:
        raise fail("--rate must be >= 0 and --burst >= 1", BAD_INPUT)
    api = create_app(app_or_exit(), cors_origins=cors_origin, rate=rate, burst=burst)
    try:
        uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False)
    except OSError as error:
        raise fail(
            f"cannot listen on {host}:{port}: {error.strerror or error}", BAD_INPUT
        ) from None
