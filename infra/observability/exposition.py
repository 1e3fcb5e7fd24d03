"""Serve the process's metrics to Prometheus: a small HTTP server for CLI processes, an ASGI
app for the API (mounted at /metrics)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY, make_asgi_app, start_http_server


class MetricsPortError(OSError):
    """The metrics port cannot be bound (taken, or privileged)."""


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> int:
    """Serve /metrics on ``addr:port`` from a daemon thread; returns the bound port (useful
    with ``port=0``). ``MetricsPortError`` names the port when it cannot be bound."""
    try:
        server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
    except OSError as error:
        raise MetricsPortError(f"cannot serve metrics on {addr}:{port}: {error.strerror}") from None
    return int(server.server_port)


def metrics_app() -> Any:
    """The ASGI app that answers Prometheus's scrape with this process's metrics."""
    return make_asgi_app(registry=REGISTRY)
