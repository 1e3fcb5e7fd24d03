"""A live session in a process of its own, through ccxt against ``lh exchange serve`` (the
soak kills it).

``python -m tests.live.live_child STORE_URL EXCHANGE_URL END_MS [OBJECT_STORE_URL EVERY]``
prints ``ready RUN_ID`` once it may trade, then trades the exchange's closed 1m bars of
BTC/USDT; with END_MS > 0 the feed ends (a clean stop) after the bar that opens at END_MS,
and the run id is printed. With OBJECT_STORE_URL it saves a snapshot there every EVERY bar
times."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

from adapters.exchange_local.defaults import DEFAULT_API_KEY, DEFAULT_SECRET
from adapters.objectstore import open_object_store
from adapters.venue.ccxt_client import make_client
from adapters.venue.ccxt_config import CcxtVenueConfig, VenueCredentials
from adapters.venue.ccxt_feed import CcxtBarFeed
from adapters.venue.ccxt_venue import CcxtVenue
from api.application.live import LiveParts, run_live
from domain.live.backoff import Backoff
from domain.market import Bar
from infra.eventstore.factory import open_event_store
from tests.live.support import SYMBOL, live_config

POLL_S = 0.02
SETTLE_S = 0.5
"""The local exchange has no receive window; a request a killed process left on the wire
is answered well within this."""


class EndingFeed(CcxtBarFeed):
    """The exchange's bars up to the one opening at ``end_us`` (0: no end)."""

    end_us = 0

    def __iter__(self) -> Iterator[Sequence[Bar]]:
        for group in super().__iter__():
            yield group
            if self.end_us and group[0].time_us >= self.end_us:
                return


def main() -> None:
    store_url, url, end_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_event_store(store_url, live=True)
    config = CcxtVenueConfig(url=url, symbols=(SYMBOL,))
    client = make_client(config, VenueCredentials(DEFAULT_API_KEY, DEFAULT_SECRET))
    client.enableRateLimit = False
    venue = CcxtVenue(config, client=client)
    feed = EndingFeed(client, [SYMBOL], "1m", poll_s=POLL_S)
    feed.end_us = end_ms * 1000
    snapshots = sys.argv[4:6]
    parts = LiveParts(
        venue,
        feed,
        backoff=Backoff(0.05, 0.5),
        settle_seconds=SETTLE_S,
        on_ready=lambda run_id: print(f"ready {run_id}", flush=True),
        snapshots=open_object_store(snapshots[0]) if snapshots else None,
    )
    live = live_config(snapshot_every=int(snapshots[1])) if snapshots else live_config()
    result = run_live(live, store, parts)
    print(result.run_id, flush=True)


if __name__ == "__main__":
    main()
