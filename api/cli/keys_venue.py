"""``lh keys venue``: exchange credentials, encrypted at rest (``api.application.venue_keys``).
The key and secret are read from environment variables, never from the command line, and
never shown."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict

import typer
from rich.table import Table

from api.application.venue_keys import VenueKeyError, VenueKeyStore
from api.cli.common import BAD_INPUT, console, fail

app = typer.Typer(
    help="Exchange API keys for live trading, encrypted with the master key "
    "(LH_MASTER_KEY or LH_MASTER_KEY_FILE).",
    no_args_is_help=True,
)
ApiKeyEnv = typer.Option(..., "--api-key-env", help="Environment variable holding the API key.")
SecretEnv = typer.Option(..., "--secret-env", help="Environment variable holding the secret.")


def _from_env(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise fail(f"environment variable {variable} is not set or empty", BAD_INPUT)
    return value


@app.command("add")
def add(
    name: str = typer.Argument(..., help="The key's name (lh live --key NAME)."),
    exchange: str = typer.Option("binance", "--exchange", help="binance, okx or bybit."),
    api_key_env: str = ApiKeyEnv,
    secret_env: str = SecretEnv,
) -> None:
    """Store a venue key, encrypted."""
    api_key, secret = _from_env(api_key_env), _from_env(secret_env)
    try:
        record = VenueKeyStore().add(name, exchange, api_key, secret)
    except VenueKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    console.print(f"venue key {record.name} ({record.exchange}) stored, encrypted")


@app.command("rotate")
def rotate(
    name: str = typer.Argument(..., help="The key to replace."),
    api_key_env: str = ApiKeyEnv,
    secret_env: str = SecretEnv,
) -> None:
    """Replace a venue key's API key and secret (a running session keeps the old ones)."""
    api_key, secret = _from_env(api_key_env), _from_env(secret_env)
    try:
        record = VenueKeyStore().rotate(name, api_key, secret)
    except VenueKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    console.print(f"venue key {record.name} rotated")


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The key to delete.")) -> None:
    """Delete a venue key."""
    try:
        VenueKeyStore().remove(name)
    except VenueKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    console.print(f"venue key {name} removed")


@app.command("list")
def list_keys(
    as_json: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Every venue key: name, exchange, when added, rotated and last used (no secret)."""
    try:
        records = VenueKeyStore().records()
    except VenueKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    if as_json:
        sys.stdout.write(json.dumps({"keys": [asdict(record) for record in records]}) + "\n")
        return
    table = Table("name", "exchange", "created", "rotated", "last used", title="venue keys")
    for record in records:
        table.add_row(
            record.name,
            record.exchange,
            record.created_at,
            record.rotated_at or "",
            record.last_used_at or "",
        )
    console.print(table)
