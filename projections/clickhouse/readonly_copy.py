"""Reading an embedded chDB directory that cannot be written (a read-only ``LH_VAR_DIR``).

chDB cannot open a directory read-only: on open it writes and locks ``<path>/status`` and
keeps scratch files under ``tmp/``, so a read-only directory fails with "Read-only file
system". A command that only reads (``lh analytics``, ``lh projections status/verify``) opens
a private copy in the temporary directory instead, removed when the process ends: the same
tables and rows, at the cost of copying the directory once per command (fine for the
embedded store's sizes; a large one belongs on a ClickHouse server).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from projections.clickhouse.holder import SOCKET_NAME


def needs_copy(path: str) -> bool:
    """Whether ``path`` is an existing chDB directory this process cannot write."""
    return Path(path).is_dir() and not os.access(path, os.W_OK)


def read_only_copy(path: str) -> str:
    """A private copy of the chDB directory ``path``, removed at exit; its path."""
    target = tempfile.mkdtemp(prefix="lh-chdb-read-")
    atexit.register(shutil.rmtree, target, True)
    ignore = shutil.ignore_patterns("status", SOCKET_NAME, "tmp")
    shutil.copytree(path, target, ignore=ignore, dirs_exist_ok=True, symlinks=True)
    return target
