"""The config of a live venue reached through ccxt (apart from ccxt itself, which takes about
a second to import: only a session that trades live pays for it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SUPPORTED_EXCHANGES = ("binance", "okx", "bybit")


class CcxtVenueConfig(BaseModel):
    """A live venue reached through ccxt: which exchange, where, and which symbols it trades.
    Credentials are never part of it (a run's config is recorded); they come from the key
    store (``lh keys venue``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["ccxt"] = "ccxt"
    """The venue registry's name for this venue (``adapters.venue.registry``)."""
    exchange: str = "binance"
    """ccxt's class name: binance, okx or bybit."""
    url: str | None = None
    """Base URL replacing the exchange's own (``--venue-url``; e.g. the local exchange)."""
    symbols: tuple[str, ...] = ()
    """The symbols the session trades (asked about after a restart)."""
    key: str | None = None
    """The name of the stored credentials, recorded for audit (never the secret)."""
    timeout_ms: int = Field(default=10_000, gt=0)
    recv_window_ms: int = Field(default=5_000, gt=0, le=60_000)
