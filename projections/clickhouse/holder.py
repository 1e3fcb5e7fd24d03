"""Which process holds an embedded chDB engine, and where it answers readers.

chDB (like a ClickHouse server) takes an exclusive ``flock`` on ``<path>/status`` for as long
as its engine is open, so one process at a time owns a path. The kernel drops the lock when
that process ends, even on SIGKILL, so a lock is never stale. The holder serves read-only
queries on the socket below; readers from other processes go there instead.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

SOCKET_NAME = "lh-queries.sock"
MAX_SOCKET_PATH = 107  # sun_path is 108 bytes with its terminating NUL on Linux
UNKNOWN_PID = -1
_PROC_LOCKS = Path("/proc/locks")


def socket_path(engine_path: str) -> Path:
    return Path(engine_path) / SOCKET_NAME


def holder(engine_path: str) -> int | None:
    """The pid holding the engine at ``engine_path``; ``None`` when free, -1 when unknown."""
    status = Path(engine_path) / "status"
    try:
        info = status.stat()
    except FileNotFoundError:
        return None
    if _PROC_LOCKS.exists():
        return _flock_owner(info.st_dev, info.st_ino)
    return _probe(status)


def _flock_owner(device: int, inode: int) -> int | None:
    """Read ``/proc/locks`` (no probing: a probe would itself hold the lock for a moment)."""
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    for line in _PROC_LOCKS.read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; "->" marks a waiter
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted:
            return int(fields[4])
    return None


def _probe(status: Path) -> int | None:
    descriptor = os.open(status, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return UNKNOWN_PID
        raise
    else:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)
