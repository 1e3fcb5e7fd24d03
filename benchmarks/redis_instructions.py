"""Redis server instructions per event appended through the facade, counted by callgrind.

    python -m benchmarks.redis_instructions --events 10000

Instruction counts do not move with the machine's load, as CPU time does on a shared machine:
two trees (or two scripts) compare exactly. Starts redis-server (AOF everysec) under
``valgrind --tool=callgrind`` twice, on a free port in a temp dir: once idle, once while
``--events`` ``FillRecorded`` events are appended through ``EventStore.append`` in batches of
``--batch``; prints the difference per event as JSON. ``callgrind_annotate`` on the kept
output (``--keep DIR``) shows where they go.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from benchmarks.eventstore import batches, fills
from infra.eventstore.factory import open_event_store
from tests.services import free_port


def counted(events: int, batch: int, directory: Path) -> tuple[int, str]:
    """Instructions of one redis-server run appending ``events``; its callgrind output."""
    port = free_port()
    out = directory / f"callgrind-{events}.out"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 120
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    store = open_event_store(f"redis://127.0.0.1:{port}/0", key_prefix=f"n{events}")
    for chunk in batches(fills(events, "cg"), batch):
        store.append(chunk)
    store.close()
    with contextlib.suppress(redis.ConnectionError):  # the server closes the connection
        client.shutdown(nosave=True)
    server.wait(120)
    text = out.read_text(errors="replace")
    found = re.search(r"^totals: (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {out}")
    return int(found.group(1)), str(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--keep", type=Path, help="write the callgrind outputs here")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    with tempfile.TemporaryDirectory(prefix="lh-callgrind-") as directory:
        idle, _ = counted(0, args.batch, Path(directory))
        busy, out = counted(args.events, args.batch, Path(directory))
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(out, args.keep)
    print(
        json.dumps(
            {
                "benchmark": "redis_instructions",
                "events": args.events,
                "batch": args.batch,
                "server_instructions_idle": idle,
                "server_instructions": busy,
                "server_instructions_per_event": round((busy - idle) / args.events),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
