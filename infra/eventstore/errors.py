"""Errors the event store raises to its callers."""

from __future__ import annotations


class StreamVersionConflictError(RuntimeError):
    """Another writer already recorded a different event at this stream version."""

    def __init__(self, stream_id: str, version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} already has a different event at version {version}; "
            "reload the stream and decide again"
        )
        self.stream_id = stream_id
        self.version = version

    def __reduce__(self) -> tuple[type[StreamVersionConflictError], tuple[str, int]]:
        return type(self), (self.stream_id, self.version)  # crosses process boundaries intact


class UnsafeEventStoreError(RuntimeError):
    """The store cannot keep acknowledged events (for example Redis without persistence)."""


class PositionTrimmedError(LookupError):
    """The requested events were trimmed from Redis after sealing; read them from the archive."""


class LogUnreadableError(RuntimeError):
    """Part of the log is in neither the event store nor a readable archive; the message says
    which positions, why, and what to fix."""
