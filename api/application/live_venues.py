"""Which live venues this build can trade on: name -> a factory of the venue and its feed.

The ccxt adapter serves ``binance``, ``okx`` and ``bybit`` (only Binance's API is tested, on
the local exchange). A factory gets the name of the stored API key (``lh keys venue``), an
optional base URL (``--venue-url``: the local exchange, a testnet), the symbols and the
timeframe, and returns the venue and a ``LiveFeed`` of its closed bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from api.application.runs import RunConfigError
from api.application.venue_keys import VenueKeyError, VenueKeyStore
from domain.engine.live_ports import LiveVenue
from domain.engine.ports import LiveFeed


class LiveVenueFactory(Protocol):
    def __call__(
        self, *, key: str, url: str | None, symbols: Sequence[str], timeframe: str
    ) -> tuple[LiveVenue, LiveFeed]: ...


def ccxt_live_venue(exchange: str) -> LiveVenueFactory:
    """``exchange`` through ccxt, with the stored key (its use recorded in the key store's
    usage log); the feed polls the same client for closed bars."""

    def factory(
        *, key: str, url: str | None, symbols: Sequence[str], timeframe: str
    ) -> tuple[LiveVenue, LiveFeed]:
        from adapters.venue.ccxt_config import CcxtVenueConfig
        from adapters.venue.ccxt_feed import CcxtBarFeed
        from adapters.venue.ccxt_venue import CcxtVenue

        try:
            key_exchange, credentials = VenueKeyStore().credentials(key, "live session")
        except VenueKeyError as error:
            raise RunConfigError(str(error)) from None
        if key_exchange != exchange:
            raise RunConfigError(f"venue key {key!r} is for {key_exchange}, not {exchange}")
        config = CcxtVenueConfig(exchange=exchange, url=url, symbols=tuple(symbols), key=key)
        venue = CcxtVenue(config, credentials)
        return venue, CcxtBarFeed(venue.client, symbols, timeframe)

    return factory


LIVE_VENUES: dict[str, LiveVenueFactory] = {
    name: ccxt_live_venue(name) for name in ("binance", "okx", "bybit")
}


def open_live_venue(
    name: str,
    *,
    key: str,
    url: str | None,
    symbols: Sequence[str],
    timeframe: str,
    venues: dict[str, LiveVenueFactory] = LIVE_VENUES,
) -> tuple[LiveVenue, LiveFeed]:
    """The venue ``name`` and its feed; ``RunConfigError`` if this build has no such venue."""
    factory = venues.get(name)
    if factory is None:
        known = ", ".join(sorted(venues)) or "none (no exchange adapter is installed)"
        raise RunConfigError(f"no live venue {name!r} in this build; live venues: {known}")
    return factory(key=key, url=url, symbols=symbols, timeframe=timeframe)
