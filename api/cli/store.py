"""`lh store`: look at the event log itself (head, a stream, the tail, hash checks, durability)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import redis
import typer
from rich.table import Table

from api.cli.common import console, event_store, fail, settings_or_exit
from infra.eventstore.durability import read_persistence, require_durable
from infra.eventstore.errors import UnsafeEventStoreError
from infra.secrets import redact_url

app = typer.Typer(help="Inspect the event log.", no_args_is_help=True)


@app.command()
def info() -> None:
    """Show which store is configured and its head position."""
    settings = settings_or_exit()
    with event_store(settings) as store:
        shown = redact_url(settings.event_store)
        console.print(f"event store: {shown}\nhead position: {store.head()}", soft_wrap=True)


@app.command()
def tail(
    after: int = typer.Option(0, help="Show events after this global position."),
    limit: int = typer.Option(20, help="At most this many events."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print events in global order, with their envelope."""
    if after < 0:
        raise fail(f"--after {after}: a position is 0 (the start of the log) or more", 2)
    if limit < 1:
        raise fail(f"--limit {limit}: show at least 1 event", 2)
    with event_store() as store:
        table = Table("pos", "stream", "ver", "type", "event time", "actor", "payload hash")
        for shown, event in enumerate(store.read_all(after, verify=True)):
            if shown >= limit:
                break
            if as_json:
                print(
                    json.dumps(
                        {
                            "position": event.position,
                            "stream": event.stream_id,
                            "version": event.stream_version,
                            "type": event.event_type,
                            "payload": event.data,
                            "payload_hash": event.payload_hash,
                        }
                    )
                )
                continue
            table.add_row(
                str(event.position),
                event.stream_id,
                str(event.stream_version),
                event.event_type,
                event.event_time.isoformat(),
                event.actor.name,
                event.payload_hash[:16],
            )
        if not as_json:
            console.print(table)


@app.command()
def durability() -> None:
    """Show how the configured Redis persists events; exit 1 if it has no append-only file."""
    settings = settings_or_exit()
    url = settings.event_store
    shown = redact_url(url)
    if urlsplit(url).scheme != "redis":
        console.print(f"event store: {shown}\nSQLite commits every append to its file: durable.")
        return
    try:
        persistence = read_persistence(url)
    except redis.RedisError as error:
        raise fail(f"cannot read persistence settings of {shown}: {error}", 2) from None
    table = Table("setting", "value", title=f"Redis persistence at {shown}")
    table.add_row("append-only file (AOF)", "yes" if persistence.aof else "no")
    table.add_row("appendfsync", persistence.fsync or "unknown")
    rdb = {True: persistence.rdb_schedule or "yes", False: "no", None: "unknown"}
    table.add_row("RDB snapshots (save)", rdb[persistence.rdb])
    table.add_row("crash exposure", persistence.exposure)
    table.add_row("read from", persistence.source)
    console.print(table)
    try:
        require_durable(url)
    except UnsafeEventStoreError as error:
        raise fail(str(error)) from None
