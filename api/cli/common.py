"""What every command needs: settings, a console, and clean exits on bad configuration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra.archive.reader import archive_log
from infra.eventstore.errors import LogUnreadableError, PositionTrimmedError
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from infra.settings import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        err_console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


def archive_name(settings: Settings) -> str:
    """The archive of this log: ``LH_ARCHIVE_ID``, else the Redis key prefix."""
    return settings.archive_id or settings.redis_key_prefix


@contextmanager
def event_store(settings: Settings | None = None) -> Iterator[EventStore]:
    """The configured store, reading what Redis trimmed after sealing from the archive; a
    part of the log that cannot be read ends the command in one line, exit 2."""
    settings = settings or settings_or_exit()
    sealed = archive_log(settings.object_store, archive_name(settings))
    store = open_event_store(
        settings.event_store, key_prefix=settings.redis_key_prefix, sealed=sealed
    )
    try:
        yield store
    except (LogUnreadableError, PositionTrimmedError) as error:
        raise fail(str(error), 2) from None
    finally:
        store.close()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` in red on stderr and return the exit to raise."""
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def progress_bar(*, on_stderr: bool = False) -> Progress:
    """The one progress bar style of ``lh``: label, bar, done/total, elapsed; gone when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console if on_stderr else console,
        transient=True,
    )
