"""The object store port: a flat key -> bytes namespace (MinIO/S3 bucket or a local directory)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ObjectStoreError(RuntimeError):
    """The object store failed or refused a request (message names the redacted URL)."""


class ObjectNotFoundError(KeyError):
    """No object under that key."""


class ObjectExistsError(FileExistsError):
    """``put_once`` found the key taken: a write-once object is never replaced."""


class ObjectRetainedError(PermissionError):
    """The store refused to delete an object still under write-once retention."""


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of a key in a store that keeps a version history (a versioned bucket)."""

    version_id: str
    delete_marker: bool
    """A delete marker: the key was deleted, its earlier versions are still kept."""


Histories = dict[str, list[ObjectVersion]]
"""Each key's versions, oldest first."""


class ObjectStore(Protocol):
    """What LiangHua needs of an object store; keys use ``/`` separators, never a leading one."""

    url: str

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Write (or overwrite) ``key`` atomically: readers see the old or the new bytes."""
        ...

    def put_once(
        self,
        key: str,
        data: bytes,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
    ) -> None:
        """Create ``key`` atomically, never replacing it: raise ``ObjectExistsError`` if it is
        taken (no check-then-write race). Where ``retention_enforced()``, the store also
        refuses to delete or replace it before ``retain_until`` (an aware datetime)."""
        ...

    def retention_enforced(self) -> bool:
        """Whether the store itself (not our code) keeps ``put_once`` objects until their
        retention ends, against anyone holding our keys: S3 Object Lock in compliance mode."""
        ...

    def get(self, key: str) -> bytes:
        """Read ``key``; raise ``ObjectNotFoundError`` if it is absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, in lexicographic order."""
        ...

    def originals(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        """Each key under ``prefix`` with the bytes first written to it, in key order. In a
        versioned (Object Lock) bucket this includes keys hidden by a delete marker and
        ignores later versions: what ``put_once`` wrote is what is read back, whatever a
        plain PUT or DELETE did since. Elsewhere, the current objects."""
        ...

    def histories(self, prefix: str) -> Histories | None:
        """Every version of each key under ``prefix``, delete markers included, oldest first,
        where the store keeps a version history (a bucket with versioning, which Object Lock
        implies); ``None`` where it keeps none (a local directory, an unversioned bucket):
        there an object replaced in place cannot be told from the one first written."""
        ...

    def get_version(self, key: str, version_id: str) -> bytes:
        """Read one version of ``key`` (one ``histories`` listed); raise
        ``ObjectNotFoundError`` if it is absent."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` for good (absent is fine); raise ``ObjectRetainedError`` when the
        store keeps it under retention."""
        ...
