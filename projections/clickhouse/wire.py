"""Frames between a process holding an embedded chDB engine and the readers it serves.

A frame is a 4-byte big-endian length and a pickle. Pickle carries ClickHouse values exactly
as clickhouse-connect returns them (``Decimal``, ``datetime``, ``UUID``, ...), so a query
answered by the holder looks the same as one run in-process; the unpickler builds only the
plain value types below, never an arbitrary object, so a frame cannot run code.
"""

from __future__ import annotations

import io
import pickle
import socket
import struct
from typing import Any

MAX_FRAME = 1 << 30
_LENGTH = struct.Struct(">I")
_SAFE = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("decimal", "Decimal"),
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        ("ipaddress", "IPv4Address"),
        ("ipaddress", "IPv6Address"),
    }
)


class WireError(ConnectionError):
    """The peer closed the connection, sent an oversized frame or a forbidden type."""


class _ValuesOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _SAFE:
            raise WireError(f"refused to decode {module}.{name}")
        return super().find_class(module, name)


def send(sock: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) > MAX_FRAME:
        raise WireError(f"answer of {len(data):,} bytes is too large; add a LIMIT")
    sock.sendall(_LENGTH.pack(len(data)) + data)


def receive(sock: socket.socket) -> Any:
    (length,) = _LENGTH.unpack(_exactly(sock, _LENGTH.size))
    if length > MAX_FRAME:
        raise WireError(f"frame of {length:,} bytes is too large")
    try:
        return _ValuesOnly(io.BytesIO(_exactly(sock, length))).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as error:
        raise WireError(f"malformed frame: {error}") from None


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise WireError("the connection closed mid-frame")
        chunks += chunk
    return bytes(chunks)
