"""Leases in the SQLite store file: the table ``lh_run_leases``, each change its own transaction.

Written on a connection of its own (never inside an append), ``BEGIN IMMEDIATE`` so that the
read and the write of a take-over happen under SQLite's write lock. Expiry is the writing
process's wall clock: every process writing one SQLite file runs on one machine.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from eventsourcing.persistence import OperationalError

from infra.eventstore.leases import (
    Holder,
    Lease,
    LeaseHeldError,
    held_here,
    let_go,
    now_us,
    this_process,
)

TABLE = "lh_run_leases"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, token TEXT NOT NULL, "
    "host TEXT NOT NULL, pid INTEGER NOT NULL, boot TEXT NOT NULL, "
    "since_us INTEGER NOT NULL, expires_us INTEGER NOT NULL)"
)
_COLUMNS = "host, pid, boot, since_us, expires_us"


class SQLiteLeases:
    """``LeaseStore`` over the event store's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with _translated(), closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(_CREATE)
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def acquire(self, name: str, ttl_ms: int) -> Lease:
        me = this_process()
        with self._transaction() as db:
            row = db.execute(
                f"SELECT token, {_COLUMNS} FROM {TABLE} WHERE name = ?", (name,)
            ).fetchone()
            now = now_us()
            if row is not None:
                token, holder = row[0], Holder(*row[1:])
                if holder.expires_us > now and not holder.gone(token):
                    raise LeaseHeldError(name, holder)
            holder = Holder(me.host, me.pid, me.boot, now, now + ttl_ms * 1_000)
            lease = Lease(name, uuid.uuid4().hex, holder)
            db.execute(
                f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, lease.token, me.host, me.pid, me.boot, now, holder.expires_us),
            )
        held_here(lease.token)
        return lease

    def renew(self, lease: Lease, ttl_ms: int) -> bool:
        with self._transaction() as db:
            now = now_us()
            changed = db.execute(
                f"UPDATE {TABLE} SET expires_us = ? WHERE name = ? AND token = ? "
                "AND expires_us > ?",
                (now + ttl_ms * 1_000, lease.name, lease.token, now),
            ).rowcount
        return changed == 1

    def holds(self, lease: Lease) -> bool:
        with _translated(), closing(self._connect()) as connection:
            try:
                row = connection.execute(
                    f"SELECT expires_us FROM {TABLE} WHERE name = ? AND token = ?",
                    (lease.name, lease.token),
                ).fetchone()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return False
                raise
        return row is not None and int(row[0]) > now_us()

    def release(self, lease: Lease) -> None:
        let_go(lease.token)
        with self._transaction() as db:
            db.execute(
                f"DELETE FROM {TABLE} WHERE name = ? AND token = ?", (lease.name, lease.token)
            )

    def close(self) -> None:
        """Nothing to close: each call opens and closes its own connection."""


@contextmanager
def _translated() -> Iterator[None]:
    """SQLite's operational errors (locked, disk full, unreadable) as the recorders raise
    them: an ``OperationalError`` interrupts a run like a failed append."""
    try:
        yield
    except sqlite3.OperationalError as error:
        raise OperationalError(error) from error
