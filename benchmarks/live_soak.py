"""The live soak (prints one JSON object): a live session process SIGKILLed at random instants
after it is ready to trade, restarted each time, then run ``--bars`` more bar times and
stopped; it trades through ccxt over HTTP with ``lh exchange serve`` in another process (a 1m
bar closes every ``--pause`` s). Afterwards the exchange (``GET /local/state``) shows no
client order id twice, every exchange trade is in the log exactly once, and every start
recorded a ``ReconciliationCompleted`` (an ``AssertionError`` otherwise).

    python -m benchmarks.live_soak --kills 30 --bars 40
    python -m benchmarks.live_soak --kills 30 --bars 40 --store redis
    python -m benchmarks.live_soak --kills 30 --failovers 6 --bars 40 --store redis-replica

``--store redis`` runs on a redis-server of our own with AOF (appendfsync always);
``--store redis-replica`` on a primary and a replica of our own (both so), sessions appending
with ``LH_REDIS_WAIT_REPLICAS=1``, and ``--failovers`` more interruptions SIGKILL the primary
under the running session, promote the replica and bring the old primary back as replica
(the roles alternate). The log's chain is verified at the end.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from tests.live.redis_pair import RedisPair
from tests.live.soak import soak
from tests.services import RedisServer, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--bars", type=int, default=40, help="bar times of the last session")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds per exchange bar")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--failovers", type=int, default=0, help="with --store redis-replica")
    parser.add_argument("--store", choices=("sqlite", "redis", "redis-replica"), default="sqlite")
    args = parser.parse_args()
    if args.failovers and args.store != "redis-replica":
        parser.error("--failovers needs --store redis-replica")
    with tempfile.TemporaryDirectory() as temporary, ExitStack() as stack:
        directory = Path(temporary)
        store: str | RedisPair = f"sqlite:///{directory}/events.sqlite"
        if args.store == "redis":
            server = RedisServer(free_port(), directory, "always")
            server.start()
            stack.callback(server.kill)
            store = server.url
        elif args.store == "redis-replica":
            store = RedisPair(directory)
            stack.callback(store.close)
        result = soak(
            store,
            directory,
            kills=args.kills,
            failovers=args.failovers,
            bars=args.bars,
            pause=args.pause,
            seed=args.seed,
        )
    print(json.dumps({"store": args.store, **asdict(result)}))


if __name__ == "__main__":
    main()
