"""Read-only opening of an existing SQLite file (event store or read model), for reads.

A command that only reads must work on a read-only ``LH_VAR_DIR`` (a mounted backup, an
auditor's copy). ``mode=ro`` opens a WAL database only if its ``-shm`` file exists or can be
created: after a clean close neither ``-wal`` nor ``-shm`` is left, and a read-only directory
cannot take a new ``-shm``, so the open fails with "unable to open database file". Then, and
only when no ``-wal`` file holds commits, the file alone is the whole database and
``immutable=1`` reads it without the shared-memory index or locks. A non-empty ``-wal``
without its ``-shm`` holds commits that only a writer can replay: that is refused in one line
rather than read as a silently older log.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote


class ReadOnlyOpenError(RuntimeError):
    """An existing SQLite file that cannot be read without write access; says why and how."""


ROOM_TO_OPEN = 64 * 1024
"""Free bytes a read-write open needs: a WAL database creates its ``-shm`` index (32 KiB)."""


def unwritable(path: Path) -> bool:
    """Whether ``path`` is an existing file this process cannot write (it, or its directory
    for the journal files, or a full disk that cannot take them): only then does a read-only
    command open it read-only, so that a writable file still gets what every open does (its
    schema created or upgraded)."""
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return path.is_file() and not (writable and _has_room(path.parent))


def _has_room(directory: Path) -> bool:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize >= ROOM_TO_OPEN


def read_only_uri(path: Path) -> str:
    """A ``file:`` URI opening the existing ``path`` read-only (see the module docstring)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    if _opens(uri):
        return uri
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ReadOnlyOpenError(
            f"cannot read {path} read-only: its write-ahead log {wal} holds commits that need "
            "write access to replay; run any lh command once with write access to that "
            "directory (it checkpoints the log), then retry"
        )
    return uri + "&immutable=1"


def _opens(uri: str) -> bool:
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return False
    try:
        connection.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.Error:
        return False
    finally:
        connection.close()
