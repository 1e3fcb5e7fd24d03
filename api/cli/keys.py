"""`lh keys`: credentials. `lh keys api` manages the REST API's keys (roles viewer, trader,
admin); only their hashes are stored, a new key is printed once."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.table import Table

from api.application.api_keys import ApiKeyError, ApiKeyStore, Role
from api.cli import keys_venue
from api.cli.common import BAD_INPUT, console, fail

app = typer.Typer(
    help="Credentials: API keys (`lh keys api`) and venue keys (`lh keys venue`).",
    no_args_is_help=True,
)
api_keys = typer.Typer(
    help="API keys of `lh serve`: create (printed once), list, revoke.", no_args_is_help=True
)
app.add_typer(api_keys, name="api")
app.add_typer(keys_venue.app, name="venue")
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object.")


@api_keys.command("create")
def create(
    owner: str = typer.Option(..., "--owner", help="Who uses the key (recorded as operator)."),
    role: str = typer.Option(..., "--role", help="viewer, trader or admin."),
    as_json: bool = JsonOption,
) -> None:
    """Create a key and print it once: store it now, it cannot be shown again."""
    try:
        record, key = ApiKeyStore().create(owner, Role.parse(role))
    except ApiKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    if as_json:
        print(json.dumps({"id": record.key_id, "owner": record.owner, "role": record.role,
                          "key": key}))  # fmt: skip
        return
    console.print(f"key {record.key_id} for {record.owner} ({record.role}); shown only now:")
    print(key)


@api_keys.command("list")
def list_keys(as_json: bool = JsonOption) -> None:
    """Every key: id, owner, role, when created and revoked (never the key or its hash)."""
    records = ApiKeyStore().records()
    if as_json:
        shown = [{k: v for k, v in asdict(r).items() if k != "sha256"} for r in records]
        print(json.dumps({"keys": shown}))
        return
    table = Table("id", "owner", "role", "created", "revoked", title="API keys")
    for record in records:
        table.add_row(
            record.key_id, record.owner, record.role, record.created_at, record.revoked_at or ""
        )
    console.print(table)


@api_keys.command("revoke")
def revoke(key_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Revoke a key: a running server refuses it from its next request."""
    try:
        record = ApiKeyStore().revoke(key_id)
    except ApiKeyError as error:
        raise fail(str(error), BAD_INPUT) from None
    console.print(f"key {record.key_id} of {record.owner} revoked at {record.revoked_at}")
