"""Replace a small secret-bearing file (the key stores) all at once, readable by its owner only.

Written to a 0600 sibling, synced, then renamed over the file: a reader sees the old file or the
new one, never half of either. A failed write (a full disk) removes the sibling, so the old file
stays as it was and nothing is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_private_file(path: Path, text: str) -> None:
    """Make ``path`` hold ``text`` (UTF-8, mode 0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
