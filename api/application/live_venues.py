"""Which live venues this build can trade on: name -> a factory of the venue and its feed.

Each exchange adapter registers itself here (the ccxt adapter: ``binance``, ``okx``,
``bybit``). A factory gets the name of the stored API key (``lh keys venue``), an optional
base URL (``--venue-url``: the local exchange, a testnet), the symbols and the timeframe, and
returns the venue and a ``LiveFeed`` of its closed bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from api.application.runs import RunConfigError
from domain.engine.live_ports import LiveVenue
from domain.engine.ports import LiveFeed


class LiveVenueFactory(Protocol):
    def __call__(
        self, *, key: str, url: str | None, symbols: Sequence[str], timeframe: str
    ) -> tuple[LiveVenue, LiveFeed]: ...


LIVE_VENUES: dict[str, LiveVenueFactory] = {}


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
