"""`lh store`: look at the event log itself (head, a stream, the tail, hash checks, durability)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import redis
import typer
from rich.table import Table

from api.cli.common import app_or_exit, console, event_store, fail
from domain.events.envelope import RecordedEvent
from infra.eventstore.durability import read_persistence, require_durable
from infra.eventstore.errors import UnsafeEventStoreError
from infra.secrets import redact_url

app = typer.Typer(help="Inspect the event log.", no_args_is_help=True)


@app.command()
def info() -> None:
    """Show which store is configured, its identity and its head position."""
    app = app_or_exit()
    with event_store(app, read_only=True) as store:
        shown = redact_url(app.settings.stores.event_store)
        console.print(f"event store: {shown}\nhead position: {store.head()}", soft_wrap=True)
        console.print(f"store identity: {store.identity}")


@app.command()
def tail(
    after: int = typer.Option(0, help="Show events after this global position."),
    limit: int = typer.Option(20, help="At most this many events."),
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per line: the whole envelope and the payload."
    ),
) -> None:
    """Print events in global order, with their envelope."""
    if after < 0:
        raise fail(f"--after {after}: a position is 0 (the start of the log) or more", 2)
    if limit < 1:
        raise fail(f"--limit {limit}: show at least 1 event", 2)
    with event_store(app_or_exit(), read_only=True) as store:
        table = Table("pos", "stream", "ver", "type", "event time", "actor", "payload hash")
        for shown, event in enumerate(store.read_all(after, verify=True)):
            if shown >= limit:
                break
            if as_json:
                print(json.dumps(envelope(event)))
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


def envelope(event: RecordedEvent) -> dict[str, Any]:
    """The whole envelope of a recorded event and its payload, as JSON-ready values."""
    return {
        "position": event.position,
        "stream": event.stream_id,
        "version": event.stream_version,
        "type": event.event_type,
        "schema_version": event.stored_schema_version,
        "event_id": event.event_id,
        "event_time": event.event_time.isoformat(),
        "recorded_time": event.recorded_time.isoformat(),
        "actor": event.actor.as_dict(),
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "payload": event.data,
        "payload_hash": event.payload_hash,
    }


@app.command()
def chain() -> None:
    """Chain the events recorded before the live hash chain existed (once, after upgrading a
    store; its next append would do it too), so `lh audit verify` can check them."""
    with event_store(app_or_exit()) as store:
        head = store.complete_chain()
        found = next(store.read_chain(head - 1, stop=head), []) if head else []
        base = store.chain_base()
    if not head:
        console.print("the log is empty: nothing to chain")
        return
    position, chain_hash = found[-1] if found else (base or (head, b""))
    console.print(f"chained positions 1..{position}")
    print(f"chain hash at position {position}: {chain_hash.hex()}")


@app.command()
def durability() -> None:
    """Show how the configured Redis persists events; exit 1 if it has no append-only file."""
    url = app_or_exit().settings.stores.event_store
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
