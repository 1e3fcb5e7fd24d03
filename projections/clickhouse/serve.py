"""Serve read-only queries from the process that holds an embedded chDB engine.

chDB lets one process at a time open a path, and the read model's runner
(``lh projections run --follow``) keeps it open to insert every batch and to let ClickHouse
merge parts in the background. So that ``lh analytics`` and ``lh projections status/verify``
still work meanwhile, the holder answers them on a Unix socket in the database directory
(mode 0600: only its owner), from a client of its own. Each statement must pass the same
read-only guard as ``lh analytics sql`` and runs with ``readonly=1``.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from projections.clickhouse import wire
from projections.clickhouse.holder import MAX_SOCKET_PATH, socket_path
from projections.queries.analytics.readonly import ReadOnlyViolationError, ensure_read_only

READ_ONLY = {"readonly": 1}


class QueryServer:
    """Answer ``{"sql", "parameters", "settings"}`` requests with columns and rows."""

    def __init__(self, client: Any, engine_path: str) -> None:
        self.client = client
        self.path = socket_path(engine_path)
        self._lock = threading.Lock()  # one statement at a time on the server's own client
        self._listener: socket.socket | None = None

    def start(self) -> None:
        """Listen in a daemon thread; ``OSError`` when the socket cannot be made."""
        if len(os.fsencode(self.path)) > MAX_SOCKET_PATH:
            raise OSError(f"socket path {self.path} is longer than {MAX_SOCKET_PATH} bytes")
        self.path.unlink(missing_ok=True)  # left by a killed holder; we hold the engine now
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)
        try:
            listener.bind(str(self.path))
        finally:
            os.umask(old_mask)
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, name="chdb-queries", daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone does not
        listener.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while (listener := self._listener) is not None:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while True:
                try:
                    request = wire.receive(connection)
                except (wire.WireError, OSError):
                    return
                try:
                    wire.send(connection, self._answer(request))
                except OSError:
                    return

    def _answer(self, request: Any) -> dict[str, Any]:
        try:
            sql, parameters, settings = _unpack(request)
            with self._lock:
                sql = ensure_read_only(self.client, sql, parameters)
                result = self.client.query(
                    sql, parameters=parameters, settings={**settings, **READ_ONLY}
                )
            return {"columns": list(result.column_names), "rows": list(result.result_rows)}
        except ReadOnlyViolationError as refusal:  # the reader raises it again: exit 2, as here
            return {"refused": str(refusal)}
        except Exception as error:  # the reader gets the error; the holder keeps serving
            return {"error": str(error) or type(error).__name__}


def _unpack(request: Any) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    if not isinstance(request, dict) or not isinstance(request.get("sql"), str):
        raise ValueError("malformed request")
    return request["sql"], request.get("parameters"), dict(request.get("settings") or {})
