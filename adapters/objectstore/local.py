"""A local directory as the object store: the embedded default (``file:///path``).

Write-once here is a convention our code keeps, not a guarantee: ``put_once`` never replaces a
file and leaves it read-only (0o444), but whoever owns the directory (or root) can still
delete or rewrite it. ``retention_enforced()`` is therefore always false.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from adapters.objectstore.base import Histories, ObjectExistsError, ObjectNotFoundError

READ_ONLY = 0o444


class LocalObjectStore:
    """Objects are files under ``root``; writes go to a temp file, then into place."""

    def __init__(self, root: Path, url: str = "") -> None:
        self.root = root  # made by the first put: reading creates nothing (read-only var dir)
        self.url = url or root.as_uri()

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid object key {key!r}")
        return self.root / key

    def _write_temp(self, path: Path, data: bytes) -> str:
        """A fsynced temp file beside ``path`` holding ``data``; its name."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below)
            dir=path.parent, delete=False, prefix=".tmp-"
        )
        try:
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:  # a full disk: leave no partial temp file, name the object
            os.unlink(handle.name)
            error.filename = error.filename or str(path)
            raise
        return handle.name

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        os.replace(self._write_temp(path, data), path)

    def put_once(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> None:
        """Hard-link a complete temp file into place: ``link`` fails if the name is taken,
        so the object appears whole or not at all and is never replaced."""
        path = self._path(key)
        temp = self._write_temp(path, data)
        try:
            os.chmod(temp, READ_ONLY)
            os.link(temp, path)
        except FileExistsError:
            raise ObjectExistsError(f"{self.url}: object {key!r} already exists") from None
        finally:
            os.unlink(temp)

    def retention_enforced(self) -> bool:
        return False

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{self.url}: no object {key!r}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        yield from sorted(key for key in keys if key.startswith(prefix))

    def originals(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        for key in self.list(prefix):
            yield key, self.get(key)

    def histories(self, prefix: str) -> Histories | None:
        """A directory keeps no versions: a file rewritten in place leaves no trace."""
        return None

    def get_version(self, key: str, version_id: str) -> bytes:
        raise ObjectNotFoundError(f"{self.url}: keeps no versions ({key!r} {version_id!r})")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
