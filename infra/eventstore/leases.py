"""Leases in the event store: one process at a time holds a named thing (a run).

The port is ``LeaseStore``; ``open_leases(store)`` gives the one that lives in the same store
as the log (a table in the SQLite file, keys under the prefix in Redis), so every process
writing to a log sees the same leases. A lease has a random token and an expiry; it is taken
when free, expired, or held by a process of this machine that is gone (a SIGKILLed run need
not wait out its lease), renewed by compare-and-set on the token, released by its holder.
What a lease does and does not guarantee is in docs/architecture.md ("Run leases").
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease: the process (host, boot, pid), since when and until when (µs)."""

    host: str
    pid: int
    boot: str
    since_us: int
    expires_us: int

    def gone(self, token: str) -> bool:
        """Whether this holder (of the lease ``token``) no longer runs: a process of this
        machine (same boot) that has exited, or this process, which let the lease go without
        reaching the store (the store was down when it stopped)."""
        me = this_process()
        if (self.host, self.boot) != (me.host, me.boot) or self.pid <= 0:
            return False
        if self.pid == me.pid:
            return token not in _HELD_HERE
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def describe(self) -> str:
        return (
            f"pid {self.pid} on host {self.host} since {_iso(self.since_us)} "
            f"(lease expires {_iso(self.expires_us)} unless renewed)"
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease this process took: ``token`` proves it is still ours."""

    name: str
    token: str
    holder: Holder


class LeaseError(RuntimeError):
    """A lease could not be had or was lost; the message says who holds it and what to do."""


class LeaseHeldError(LeaseError):
    """Another live process holds the lease; nothing was done."""

    def __init__(self, name: str, holder: Holder) -> None:
        super().__init__(
            f"{name} is held by another process: {holder.describe()}; stop that process, or if "
            "it died wait until its lease expires, then run the same command again"
        )
        self.name = name
        self.holder = holder

    def __reduce__(self) -> tuple[type[LeaseHeldError], tuple[str, Holder]]:
        return type(self), (self.name, self.holder)


class LeaseLostError(LeaseError):
    """The lease expired or was taken over while we ran: this process must stop writing."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name} lost its lease (it expired or another process took it over); this "
            "process recorded nothing more. If no other process runs it now, run the same "
            "command again to resume it"
        )
        self.name = name

    def __reduce__(self) -> tuple[type[LeaseLostError], tuple[str]]:
        return type(self), (self.name,)


class LeaseStore(Protocol):
    """Where leases live; every method is atomic in the store."""

    def acquire(self, name: str, ttl_ms: int) -> Lease:
        """Take ``name`` for ``ttl_ms``; ``LeaseHeldError`` if a live process holds it."""
        ...

    def renew(self, lease: Lease, ttl_ms: int) -> bool:
        """Extend the lease by ``ttl_ms`` from now if it is still ours and unexpired."""
        ...

    def holds(self, lease: Lease) -> bool:
        """Whether the lease is still ours and unexpired (the check before each append)."""
        ...

    def release(self, lease: Lease) -> None:
        """Give the lease up if it is still ours; nothing if it is not."""
        ...

    def close(self) -> None:
        """Let go of connections."""
        ...


@dataclass(frozen=True, slots=True)
class Process:
    host: str
    pid: int
    boot: str


def this_process() -> Process:
    return Process(socket.gethostname(), os.getpid(), _boot_id())


_HELD_HERE: set[str] = set()
"""Tokens of the leases this process holds now (a pid alone cannot tell, in this process,
a lease still held from one left behind by a run that ended while the store was down)."""


def held_here(token: str) -> None:
    """Note that this process holds the lease ``token`` (``LeaseStore.acquire`` calls it)."""
    _HELD_HERE.add(token)


def let_go(token: str) -> None:
    """Note that this process no longer holds ``token``, whether or not the store heard."""
    _HELD_HERE.discard(token)


def now_us() -> int:
    return time.time_ns() // 1_000


def open_leases(url: str, key_prefix: str = "lh") -> LeaseStore:
    """The leases kept in the event store at ``url`` (a store's ``url`` and ``key_prefix``)."""
    if urlsplit(url).scheme == "redis":
        from infra.eventstore.redis.leases import RedisLeases

        return RedisLeases(url, key_prefix)
    from infra.eventstore.factory import sqlite_path
    from infra.eventstore.sqlite_leases import SQLiteLeases

    return SQLiteLeases(sqlite_path(url))


def _boot_id() -> str:
    """This boot of this machine (pids are only comparable within one); "" where unknown."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _iso(micros: int) -> str:
    moment = datetime.fromtimestamp(micros / 1_000_000, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")
