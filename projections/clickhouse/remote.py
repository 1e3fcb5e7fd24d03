"""A read-only client that runs queries in the process holding an embedded chDB engine.

It offers the part of clickhouse-connect's ``Client`` that readers use (``query`` with
parameters and settings, ``close``), so analytics and verification code run unchanged on it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from projections.clickhouse import wire
from projections.queries.analytics.readonly import ReadOnlyViolationError

ANSWER_TIMEOUT_SECONDS = 600.0  # a holder that stops answering (SIGSTOP, hung) ends in an error


class RemoteQueryError(RuntimeError):
    """The holder ran the statement and ClickHouse refused it (message as ClickHouse put it)."""


@dataclass(frozen=True, slots=True)
class RemoteResult:
    column_names: tuple[str, ...]
    result_rows: list[tuple[Any, ...]]


class RemoteClient:
    """Queries over the holder's socket; every statement runs there with ``readonly=1``."""

    guards_sql = True
    """The holder passes every statement through ``ensure_read_only`` and runs only its
    canonical text: callers need not (and cannot: ``EXPLAIN`` is refused there) guard again."""

    def __init__(self, sock: socket.socket, holder_pid: int) -> None:
        self._sock = sock
        self.holder_pid = holder_pid

    @classmethod
    def connect(cls, path: Path, holder_pid: int) -> RemoteClient | None:
        """Connect to the holder's socket; ``None`` if nobody answers there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(ANSWER_TIMEOUT_SECONDS)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            return None
        return cls(sock, holder_pid)

    def query(
        self,
        sql: str,
        parameters: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> RemoteResult:
        try:
            wire.send(self._sock, {"sql": sql, "parameters": parameters, "settings": settings})
            answer = wire.receive(self._sock)
        except OSError as error:  # WireError too
            raise RemoteQueryError(
                f"process {self.holder_pid}, which holds the embedded database, did not answer "
                f"({error or type(error).__name__}); is it still running?"
            ) from None
        if "refused" in answer:
            raise ReadOnlyViolationError(answer["refused"])
        if "error" in answer:
            raise RemoteQueryError(answer["error"])
        return RemoteResult(tuple(answer["columns"]), [tuple(row) for row in answer["rows"]])

    def close(self) -> None:
        self._sock.close()
