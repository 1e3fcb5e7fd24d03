"""The object store port: a flat key -> bytes namespace (MinIO/S3 bucket or a local directory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol


class ObjectNotFoundError(KeyError):
    """No object under that key."""


class ObjectStore(Protocol):
    """What LiangHua needs of an object store; keys use ``/`` separators, never a leading one."""

    url: str

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write (or overwrite) ``key`` atomically: readers see the old or the new bytes."""
        ...

    def get(self, key: str) -> bytes:
        """Read ``key``; raise ``ObjectNotFoundError`` if it is absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, in lexicographic order."""
        ...

    def delete(self, key: str) -> None: ...
