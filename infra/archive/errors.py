"""Errors of the durable log archive; each names the segment key and positions it concerns."""

from __future__ import annotations


class ArchiveError(RuntimeError):
    """The archive cannot do what was asked (bad state, conflicting objects, gaps)."""


class ArchiveCorruptError(ArchiveError):
    """A segment or the manifest fails its checks; nothing was written because of it."""

    def __init__(
        self,
        message: str,
        *,
        key: str = "",
        first: int | None = None,
        last: int | None = None,
        position: int | None = None,
    ) -> None:
        super().__init__(message)
        self.key = key
        self.first = first
        self.last = last
        self.position = position


class RestoreError(ArchiveError):
    """Restore refused to start, or the target disagreed with the archive while writing."""


class TrimNotSupportedError(ArchiveError):
    """The event store keeps its whole log (SQLite); there is nothing to trim."""
