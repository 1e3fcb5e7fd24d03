"""Open a clickhouse-connect client from ``LH_CLICKHOUSE_URL``.

``chdb:///abs/path`` runs the real ClickHouse engine in-process (chDB) and
``http(s)://user:pass@host:port/db`` talks to a server; both give the same ``Client`` API and
run the same SQL, so nothing above this module knows which one it has.
chDB hosts one engine (one path) per process: close every client before opening another path.

A missing database is created only when asked (``lh projections init``), so a mistyped name
is never silently created empty. The one exception is the embedded chDB directory, which is
ours: its database is created on first use, by the same code path as a server's when asked.

One process at a time may open a path: while another holds it (``lh projections run
--follow``), ``open_reader`` reads through that process instead (see ``serve``), and
``open_client`` waits a little for it to let go, then names it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import clickhouse_connect

from infra.settings import check_url
from projections.clickhouse.holder import holder, socket_path
from projections.clickhouse.readonly_copy import needs_copy, read_only_copy
from projections.clickhouse.remote import RemoteClient

DEFAULT_DATABASE = "lianghua"
HOLDER_WAIT_SECONDS = 15.0  # long enough for a reader's query, short enough to say why


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    """Where the analytics database lives; ``path`` for chDB, ``host`` for a server."""

    scheme: str
    database: str
    path: str = ""
    host: str = ""
    port: int = 0
    username: str = "default"
    password: str = ""

    @property
    def embedded(self) -> bool:
        return self.scheme == "chdb"

    def describe(self) -> str:
        """The target without its password, safe for logs and error messages."""
        if self.embedded:
            return f"chdb://{self.path} (database {self.database})"
        return f"{self.scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


class ClickHouseUnavailableError(RuntimeError):
    """The ClickHouse named by ``LH_CLICKHOUSE_URL`` cannot be opened (message has no password)."""


class ClickHouseDatabaseMissingError(ClickHouseUnavailableError):
    """The server is there but the database is not (and creating it was not asked for)."""


def parse_clickhouse_url(url: str) -> ClickHouseTarget:
    """Split a ``chdb://`` or ``http(s)://`` URL; raise ``ValueError`` naming the variable."""
    check_url("clickhouse_url", url)
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        location = unquote(parts.netloc + parts.path)
        database = parse_qs(parts.query).get("database", [DEFAULT_DATABASE])[0]
        return ClickHouseTarget("chdb", _identifier(database), path=str(Path(location).resolve()))
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    return ClickHouseTarget(
        parts.scheme,
        _identifier(database),
        host=parts.hostname or "",
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
    )


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"LH_CLICKHOUSE_URL: database name {name!r} must be letters, digits or _")
    return name


def open_client(url: str, *, create_database: bool | None = None) -> Any:
    """A client of its own, on the target's database (see ``_use_database``)."""
    target = parse_clickhouse_url(url)
    client = _open(target, remote=False)
    return _use_database(client, target, create_database=create_database)


def open_reader(url: str, *, create_database: bool | None = False, read_only: bool = False) -> Any:
    """A client for reads: its own, or a ``RemoteClient`` when another process holds chDB.
    ``read_only`` (the caller never writes) reads a chDB directory that cannot be written
    through a private copy (see ``readonly_copy``)."""
    target = parse_clickhouse_url(url)
    client = _open(target, remote=True, read_only=read_only)
    if isinstance(client, RemoteClient):
        return client
    return _use_database(client, target, create_database=create_database)


def _use_database(client: Any, target: ClickHouseTarget, *, create_database: bool | None) -> Any:
    """Make the target's database current. A missing one is created when ``create_database``
    is true, refused (``ClickHouseDatabaseMissingError``) when false; ``None`` creates it only
    in embedded chDB. The same statements for chDB and a server."""
    create = target.embedded if create_database is None else create_database
    try:
        if create:
            client.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
        elif not int(client.command(f"EXISTS DATABASE {target.database}")):
            raise ClickHouseDatabaseMissingError(
                f"LH_CLICKHOUSE_URL: database {target.database} does not exist on "
                f"{target.describe()}; create it with `lh projections init`, or fix the "
                "database name in LH_CLICKHOUSE_URL"
            )
        client.database = target.database
    except Exception:
        client.close()
        raise
    return client


def _open(target: ClickHouseTarget, *, remote: bool, read_only: bool = False) -> Any:
    try:
        if target.embedded:
            return _open_embedded(target, remote=remote, read_only=read_only)
        return _connect(target)
    except ClickHouseUnavailableError:
        raise
    except Exception as error:
        detail = str(error).replace(target.password, "***") if target.password else str(error)
        first = (detail.strip().splitlines() or [type(error).__name__])[0]
        raise ClickHouseUnavailableError(
            f"LH_CLICKHOUSE_URL: cannot open {target.describe()}: {first}"
        ) from None


def _open_embedded(target: ClickHouseTarget, *, remote: bool, read_only: bool = False) -> Any:
    """Open the engine when no other process holds it; else its ``RemoteClient`` or wait."""
    mine = (None, os.getpid())
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while True:
        pid = holder(target.path)
        if pid in mine:
            if read_only and pid is None and needs_copy(target.path):
                return _connect(replace(target, path=read_only_copy(target.path)))
            try:
                return _connect(target)
            except Exception:
                if holder(target.path) in mine:
                    raise  # not a race with another process: a real failure
        elif remote and pid is not None:
            client = RemoteClient.connect(socket_path(target.path), pid)
            if client is not None:
                return client
        if time.monotonic() >= deadline:
            serving = " and does not serve queries" if remote else ""
            raise ClickHouseUnavailableError(
                f"LH_CLICKHOUSE_URL: {target.describe()} is held by process {pid}{serving} "
                "(chDB lets one process open a database): stop that process, or point "
                "LH_CLICKHOUSE_URL at a ClickHouse server (http://...)"
            )
        time.sleep(0.1)


def _connect(target: ClickHouseTarget) -> Any:
    if target.embedded:
        Path(target.path).mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(interface="chdb", path=target.path)
    return clickhouse_connect.get_client(
        interface=target.scheme,
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
    )
