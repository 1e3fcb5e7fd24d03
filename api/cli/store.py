"""`lh store`: look at the event log itself (head, a stream, the tail, hash checks)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from api.cli.common import console, event_store, settings_or_exit

app = typer.Typer(help="Inspect the event log.", no_args_is_help=True)


@app.command()
def info() -> None:
    """Show which store is configured and its head position."""
    settings = settings_or_exit()
    with event_store(settings) as store:
        console.print(f"event store: {settings.event_store}\nhead position: {store.head()}")


@app.command()
def tail(
    after: int = typer.Option(0, help="Show events after this global position."),
    limit: int = typer.Option(20, help="At most this many events."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Print events in global order, with their envelope."""
    with event_store() as store:
        table = Table("pos", "stream", "ver", "type", "event time", "actor", "payload hash")
        for shown, event in enumerate(store.read_all(after, verify=True)):
            if shown >= limit:
                break
            if as_json:
                print(json.dumps({"position": event.position, "stream": event.stream_id,
                                  "version": event.stream_version, "type": event.event_type,
                                  "payload": event.data, "payload_hash": event.payload_hash}))
                continue
            table.add_row(str(event.position), event.stream_id, str(event.stream_version),
                          event.event_type, event.event_time.isoformat(), event.actor.name,
                          event.payload_hash[:16])
        if not as_json:
            console.print(table)
