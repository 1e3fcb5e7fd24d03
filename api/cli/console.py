"""`lh console`: the operator console over a running `lh serve` (see docs/console.md)."""

from __future__ import annotations

import asyncio
import os

import typer

from api.cli.common import BAD_INPUT, fail
from api.console.app import ConsoleApp
from api.console.client import ApiClient, ApiError

DEFAULT_KEY_ENV = "LH_API_KEY"


def register(app: typer.Typer) -> None:
    app.command("console")(console)


def console(
    url: str = typer.Option("http://127.0.0.1:8000", "--url", help="The API's address."),
    key_env: str = typer.Option(
        DEFAULT_KEY_ENV, "--key-env", help="The environment variable holding the API key."
    ),
    refresh: float = typer.Option(2.0, "--refresh", help="Seconds between refreshes."),
) -> None:
    """Watch positions, PnL, open orders, alerts and read-model lag; `k` engages a run's kill
    switch (after a confirmation with a reason). The key is read from an environment
    variable, never from the command line."""
    key = os.environ.get(key_env, "").strip()
    if not key:
        raise fail(f"set {key_env} to an API key (`lh keys api create`)", BAD_INPUT)
    if not url.startswith(("http://", "https://")):
        raise fail(f"--url must start with http:// or https://, got {url!r}", BAD_INPUT)
    if not 0.2 <= refresh <= 3600:
        raise fail("--refresh must be from 0.2 to 3600 seconds", BAD_INPUT)
    client = ApiClient(url, key)
    try:
        asyncio.run(_check(client))
    except ApiError as error:
        raise fail(str(error)) from None
    ConsoleApp(ApiClient(url, key), refresh=refresh).run()


async def _check(client: ApiClient) -> None:
    """Fail before the screen opens if the API cannot be reached or refuses the key."""
    async with client:
        await client.status()
