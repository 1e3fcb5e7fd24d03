"""The live soak (prints one JSON object): a live session process SIGKILLed at random instants
after it is ready to trade, restarted each time, then run ``--bars`` more bar times and
stopped; it trades through ccxt over HTTP with ``lh exchange serve`` in another process (a 1m
bar closes every ``--pause`` s). Afterwards the exchange (``GET /local/state``) shows no
client order id twice, every exchange trade is in the log exactly once, and every start
recorded a ``ReconciliationCompleted`` (an ``AssertionError`` otherwise).

    python -m benchmarks.live_soak --kills 30 --bars 40
    python -m benchmarks.live_soak --kills 30 --bars 40 --store redis

``--store redis`` runs on a redis-server of our own with AOF (appendfsync always).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

from tests.live.soak import soak
from tests.services import RedisServer, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--bars", type=int, default=40, help="bar times of the last session")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds per exchange bar")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        server = None
        if args.store == "redis":
            server = RedisServer(free_port(), directory, "always")
            server.start()
            url = server.url
        else:
            url = f"sqlite:///{directory}/events.sqlite"
        try:
            result = soak(
                url,
                directory,
                kills=args.kills,
                bars=args.bars,
                pause=args.pause,
                seed=args.seed,
            )
        finally:
            if server is not None:
                server.kill()
    print(json.dumps({"store": args.store, **asdict(result)}))


if __name__ == "__main__":
    main()
