"""What every command needs: the application (built once by the composition root), a console,
and clean exits on bad configuration.

``GuardedGroup`` is the ``lh`` group: a failure a user can cause anywhere below it (a store
that is down, a path that cannot be written, a bad config file) ends in one red line on stderr
naming the cause and the fix, secrets masked, exit 2 — never a traceback.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from typer.exceptions import TyperException

from api.cli.failures import describe_failure
from api.cli.lazy import LazyGroup
from infra.eventstore.errors import LogUnreadableError, PositionTrimmedError
from infra.secrets import redact_text
from infra.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from api.application.bootstrap import App
    from infra.eventstore.store import EventStore

console = Console()
err_console = Console(stderr=True)
BAD_INPUT = 2


class _Process:
    owned = False  # ``api.cli.main`` runs: lh is the whole process (not a test's runner)


def own_process() -> None:
    """Called by ``lh``'s entry point only: a command may then end the process itself."""
    _Process.owned = True


def exit_done() -> None:
    """End ``lh`` now, exit code 0, once a command has closed its stores and printed its
    result: the interpreter's own exit would then spend 0.2-0.3 s tearing down a long run's
    objects for nothing. Exit functions still run and stdout and stderr are flushed; nothing
    happens unless ``lh`` owns the process (not under a test's ``CliRunner``) and only the
    main thread is left (a thread still working is waited for by a normal exit)."""
    if not _Process.owned or threading.active_count() > 1:
        return
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed pipe: the normal exit reports it
    os._exit(0)


class GuardedGroup(LazyGroup):
    """The top-level group: translates known failures of any command into one line, exit 2."""

    def invoke(self, ctx: Any) -> Any:
        _log_to_stderr_masked()
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # typer's own way out
            raise
        except ConfigError as error:
            raise fail(str(error), BAD_INPUT) from None
        except Exception as error:
            line = describe_failure(error, _configured_urls())
            if line is None:
                raise
            raise fail(line, BAD_INPUT) from None


class _MaskedStderrHandler(logging.Handler):
    """Log records on the current stderr, secrets masked (tracebacks included)."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.urls = urls
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(redact_text(self.format(record), self.urls) + "\n")
        except Exception:
            self.handleError(record)


def _log_to_stderr_masked() -> None:
    """Route warnings and errors of every logger through ``_MaskedStderrHandler``, once.

    clickhouse-connect and urllib3 log failures and retries before raising; the raised
    error is what we report (one line), so their loggers only speak when critical.
    WeasyPrint and fontTools warn about the machine's font libraries (HarfBuzz-Subset
    missing) while printing our own report pages, once per font: only their errors show.
    Log records and Python warnings (``warnings.showwarning``) go to stderr, never to the
    stdout a ``--json`` command keeps for its JSON.
    """
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _MaskedStderrHandler)]
    root.addHandler(_MaskedStderrHandler(_configured_urls()))
    for chatty in ("clickhouse_connect", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.CRITICAL)
    for printing in ("weasyprint", "fontTools"):
        logging.getLogger(printing).setLevel(logging.ERROR)


def masked_excepthook(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    """A bug's traceback (the guard lets those through), with secrets masked all the same."""
    text = "".join(traceback.format_exception(kind, error, trace))
    sys.stderr.write(redact_text(text, _configured_urls()))


def _configured_urls() -> list[str]:
    """The URLs whose secrets must not be shown (none if the settings themselves are bad)."""
    try:
        settings = load_settings()
    except ConfigError:
        return []
    return [settings.event_store, settings.sql_url, settings.clickhouse_url, settings.object_store]


def known_failure(error: BaseException) -> str | None:
    """``describe_failure`` with the configured URLs (named in the line, secrets masked)."""
    return describe_failure(error, _configured_urls())


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise fail(str(error), BAD_INPUT) from None


def app_or_exit() -> App:
    """The command's application from the configured settings: each command calls this once
    and opens its stores, read models and venues through it. (The composition root is imported
    here, not with this module: ``lh --help`` and ``lh COMMAND --help`` never need it.)"""
    from api.application.bootstrap import bootstrap

    return bootstrap(settings_or_exit())


@contextmanager
def event_store(app: App, *, read_only: bool = False) -> Iterator[EventStore]:
    """``app``'s store, reading what Redis trimmed after sealing from the archive; a part of
    the log that cannot be read ends the command in one line, exit 2. Commands that only read
    pass ``read_only`` (they then work on a read-only ``LH_VAR_DIR``)."""
    with app.event_store(read_only=read_only) as store:
        try:
            yield store
        except (LogUnreadableError, PositionTrimmedError) as error:
            raise fail(str(error), 2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` (secrets masked, unwrapped) in red on stderr; return the exit to raise."""
    err_console.print(Text(redact_text(message), style="red"), soft_wrap=True)
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
