"""WebSocket fan-out benchmark: events/s delivered to many subscribers of ``/ws/events``.

    python -m benchmarks.ws_fanout --backend sqlite --subscribers 50 --events 10000
    python -m benchmarks.ws_fanout --backend redis --subscribers 50 --events 10000 --compression

A real uvicorn serves the stream router in a subprocess (as ``lh serve`` would); this process
runs the subscribers (asyncio ``websockets`` clients) and a writer thread. Two phases:

* live: every subscriber is connected and caught up, then the writer appends ``--events``
  events in batches of ``--batch``; the clock runs from the first append until every
  subscriber has received the last event;
* resume: every subscriber reconnects with ``after=0`` and reads the whole log again (each
  client's catch-up is read from the store, then it joins the live hub).

Reports events/s (the log's rate as every subscriber saw it) and deliveries/s (messages
sent in total), plus the server's and this process's CPU seconds. Messages are the real
ones (``FillRecorded``, about 600 bytes). ``--compression`` lets clients negotiate
permessage-deflate (uvicorn's default when a client offers it). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis
from websockets.asyncio.client import connect

from domain.events.catalog import FillRecorded
from domain.events.envelope import Actor, NewEvent
from domain.events.types import ActorKind, Liquidity, Side
from infra.eventstore.factory import open_event_store
from infra.eventstore.store import EventStore
from tests.services import REDIS_URL, free_port, wait_for_port

KEY = "bench-key"
ACTOR = Actor(ActorKind.VENUE, "sim", "acct-1")


def fill(number: int) -> NewEvent:
    payload = FillRecorded(
        fill_id=f"bench-f{number}",
        order_id=f"bench-o{number}",
        account="acct-1",
        strategy="sma_cross",
        symbol="BTCUSDT",
        side=Side.BUY,
        price=Decimal("43210.12"),
        quantity=Decimal("0.015"),
        fee=Decimal("0.65"),
        fee_currency="USD",
        liquidity=Liquidity.TAKER,
        venue="sim",
        venue_order_id=f"sim-o{number}",
        venue_fill_id=f"sim-f{number}",
    )
    return NewEvent(
        f"order-bench-o{number}",
        1,
        payload,
        f"bench:{number}",
        1_700_000_000_000_000 + number,
        ACTOR,
        None,
        "bench",
    )


def build_app(url: str, prefix: str) -> Any:
    """The app the server subprocess serves: the stream router alone."""
    from fastapi import FastAPI

    from api.http.streams import stream_router

    app = FastAPI()
    app.include_router(
        stream_router(
            lambda: closing(open_event_store(url, key_prefix=prefix)),
            lambda key: "bench" if key == KEY else None,
            queue_limit=1_000_000,
        )
    )
    return app


def serve(url: str, prefix: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_app(url, prefix), host="127.0.0.1", port=port, log_level="warning")


@contextmanager
def server(url: str, prefix: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ws_fanout", "--serve", url, prefix, str(port)],
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"ws://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=30)


def server_cpu(process: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) the server process used so far."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscriber(url: str, last: int, compression: bool, ready: asyncio.Event) -> int:
    """Count messages until the one at position ``last``."""
    received = 0
    async with connect(
        url, compression="deflate" if compression else None, max_size=None, max_queue=None
    ) as ws:
        ready.set()
        async for raw in ws:
            received += 1
            if f'"position":{last},'.encode() in (raw if isinstance(raw, bytes) else raw.encode()):
                return received
    return received


async def run_phase(
    base: str, store: EventStore, args: argparse.Namespace, *, after: int | None, total: int
) -> dict[str, Any]:
    """Connect every subscriber; append ``--events`` more (live) unless the log is already
    there (resume); wait until each has the last position."""
    query = f"key={KEY}" + ("" if after is None else f"&after={after}")
    last = total
    readies = [asyncio.Event() for _ in range(args.subscribers)]
    tasks = [
        asyncio.create_task(subscriber(f"{base}/ws/events?{query}", last, args.compression, r))
        for r in readies
    ]
    for ready in readies:
        await ready.wait()
    expected = total - (after if after is not None else store.head())
    start = time.perf_counter()
    if after is None:
        await asyncio.sleep(0.5)  # let every subscription reach the hub before the clock starts
        start = time.perf_counter()
        writer = threading.Thread(target=append_all, args=(store, args.events, args.batch))
        writer.start()
    counts = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    if after is None:
        writer.join()
        expected = args.events
    assert all(count == expected for count in counts), (counts, expected)
    return {
        "events": expected,
        "subscribers": args.subscribers,
        "seconds": round(elapsed, 3),
        "events_per_s": round(expected / elapsed),
        "deliveries_per_s": round(expected * args.subscribers / elapsed),
    }


def append_all(store: EventStore, events: int, batch: int) -> None:
    head = store.head()
    for start in range(1, events + 1, batch):
        store.append([fill(head + n) for n in range(start, min(start + batch, events + 1))])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--compression", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        prefix = f"lhbench-ws-{uuid.uuid4().hex[:8]}"
        url = f"sqlite:///{Path(directory) / 'events.sqlite'}"
        if args.backend == "redis":
            url = REDIS_URL
        store = open_event_store(url, key_prefix=prefix)
        try:
            with server(url, prefix) as (base, process):
                cpu_before = server_cpu(process)
                live = asyncio.run(run_phase(base, store, args, after=None, total=args.events))
                cpu_live = server_cpu(process)
                resume = asyncio.run(run_phase(base, store, args, after=0, total=args.events))
                cpu_resume = server_cpu(process)
            live["server_cpu_s"] = round(cpu_live - cpu_before, 2)
            resume["server_cpu_s"] = round(cpu_resume - cpu_live, 2)
        finally:
            store.close()
            if args.backend == "redis":
                client = redis.Redis.from_url(REDIS_URL)
                keys = list(client.scan_iter(f"{prefix}*"))
                if keys:
                    client.delete(*keys)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "benchmark": "ws_fanout",
                "backend": args.backend,
                "compression": args.compression,
                "batch": args.batch,
                "live": live,
                "resume_after_0": resume,
                "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
