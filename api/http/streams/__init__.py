"""WebSocket streams of the log, fed by one reader per process (``stream_router``)."""

from api.http.streams.router import stream_router

__all__ = ["stream_router"]
