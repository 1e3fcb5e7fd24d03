"""Structured logs: one JSON object per line on stderr, with the session's run id and
correlation id, secrets masked.

``configure_logging(json_lines=True)`` routes both structlog loggers and the standard
library's (every module's ``logging.getLogger``) through the same JSON renderer. Ids are bound
with ``session_context`` where a session runs, so every line it logs carries them.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import structlog

from infra.secrets import redact_text

ENV_FORMAT = "LH_LOG_FORMAT"

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def json_requested(flag: bool) -> bool:
    """``--log-json`` given, or ``LH_LOG_FORMAT=json`` in the environment."""
    return flag or os.environ.get(ENV_FORMAT, "").strip().lower() == "json"


class _MaskedJsonHandler(logging.Handler):
    """Writes each rendered JSON line to the current stderr with the secrets of ``urls``
    masked (exception text included)."""

    def __init__(self, urls: Sequence[str]) -> None:
        super().__init__(logging.INFO)
        self.urls = list(urls)
        self.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                foreign_pre_chain=_SHARED,
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
            )
        )

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(redact_text(self.format(record), self.urls) + "\n")
        except Exception:
            self.handleError(record)


def configure_logging(*, json_lines: bool, urls: Sequence[str] = ()) -> None:
    """Log as JSON lines on stderr (INFO and above) when ``json_lines``; otherwise leave the
    console logging as it is. ``urls``: configured URLs whose passwords must never show."""
    if not json_lines:
        return
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers = [_MaskedJsonHandler(urls)]
    root.setLevel(logging.INFO)


@contextmanager
def session_context(run_id: str) -> Iterator[str]:
    """Bind ``run_id`` and a fresh correlation id (this process's part of the session) to
    every log line logged inside; yields the correlation id."""
    correlation_id = uuid.uuid4().hex
    with structlog.contextvars.bound_contextvars(run_id=run_id, correlation_id=correlation_id):
        yield correlation_id
