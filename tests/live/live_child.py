"""A live session in a process of its own (the soak kills it).

``python -m tests.live.live_child STORE_URL EXCHANGE_JSON BARS PAUSE`` prints ``ready RUN_ID``
once it may trade. The exchange's state lives in EXCHANGE_JSON, so a killed and restarted
session meets the exchange as it left it; each bar the exchange has not seen yet waits PAUSE s
(bars it has seen go by at once, as a restarted feed catches up)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

from domain.market import Bar
from infra.eventstore.factory import open_event_store
from tests.live.fake_exchange import FakeExchange
from tests.live.support import groups, session


class PacedBars(list[tuple[Bar, ...]]):
    def __init__(self, bars: list[tuple[Bar, ...]], exchange: FakeExchange, pause: float):
        super().__init__(bars)
        self.exchange, self.pause = exchange, pause

    def __iter__(self) -> Iterator[tuple[Bar, ...]]:
        for group in list.__iter__(self):
            if group[0].time_us > self.exchange.last_tick_us:
                time.sleep(self.pause)
            yield group


def main() -> None:
    url, state, count, pause = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    store = open_event_store(url, live=True)
    exchange = FakeExchange(path=state)
    result = session(
        store,
        exchange,
        PacedBars(groups(count), exchange, pause),
        on_ready=lambda run_id: print(f"ready {run_id}", flush=True),
    )
    print(result.run_id, flush=True)


if __name__ == "__main__":
    main()
