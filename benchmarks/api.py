"""REST API benchmark: p50/p99 latency and throughput of GET /positions, GET /orders?limit=100
and GET /system/status with 200 concurrent connections, from loopback.

    python -m benchmarks.api --events 50000 --requests 4000
    python -m benchmarks.api --events 50000 --requests 4000 --sql mariadb

Builds a synthetic trading log (``tests/fixtures/synthetic.py``) of ``--events`` events in a
fresh embedded store, catches the SQL read model up (``lh projections run --only sql``: SQLite
by default, or a fresh MariaDB database), creates a viewer key, starts ``lh serve`` in its own
process (no rate limit) and drives it with ``--concurrency`` httpx connections (asyncio), each
sending its share of ``--requests`` per endpoint, one endpoint after the other after a warm-up.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy

from api.application.api_keys import ApiKeyStore, Role
from benchmarks.audit_verify import build
from infra.eventstore.factory import open_event_store
from tests.services import MYSQL_URL, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ("/api/v1/positions", "/api/v1/orders?limit=100", "/api/v1/system/status")


def prepare(directory: Path, events: int, sql: str) -> tuple[dict[str, str], str | None]:
    """The environment of a store holding ``events`` events and its caught-up read model;
    the MariaDB database to drop afterwards, if any."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "LH_VAR_DIR": str(directory / "var")}
    env["LH_CONFIG"] = str(directory / "empty.toml")
    (directory / "empty.toml").write_text("")
    env["LH_EVENT_STORE"] = f"sqlite:///{directory / 'events.sqlite'}"
    database = None
    if sql == "mariadb":
        database = f"lhbench_{uuid.uuid4().hex[:10]}"
        engine = sqlalchemy.create_engine(MYSQL_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
        engine.dispose()
        env["LH_SQL_URL"] = MYSQL_URL.rsplit("/", 1)[0] + f"/{database}"
    store = open_event_store(env["LH_EVENT_STORE"])
    try:
        build(store, events)
    finally:
        store.close()
    subprocess.run(
        [sys.executable, "-m", "api", "projections", "run", "--only", "sql"],
        env=env, cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return env, database


async def drive(base: str, key: str, path: str, requests: int, concurrency: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:

        async def worker(count: int) -> None:
            nonlocal errors
            for _ in range(count):
                started = time.perf_counter()
                try:
                    answer = await http.get(path)
                except httpx.TransportError:  # a dropped connection counts as an error
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                errors += answer.status_code != 200

        await asyncio.gather(*(worker(3) for _ in range(concurrency // 4)))  # warm-up
        latencies.clear()
        share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
        started = time.perf_counter()
        await asyncio.gather(*(worker(count) for count in share))
        seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "requests_per_s": round(len(latencies) / seconds),
    }


def run(events: int, requests: int, concurrency: int, sql: str, directory: Path) -> dict[str, Any]:
    env, database = prepare(directory, events, sql)
    os.environ["LH_VAR_DIR"] = env["LH_VAR_DIR"]
    key = ApiKeyStore().create("bench", Role.VIEWER)[1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--rate", "0"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        results = {
            path: asyncio.run(drive(base, key, path, requests, concurrency)) for path in ENDPOINTS
        }
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
        if database is not None:
            engine = sqlalchemy.create_engine(MYSQL_URL)
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=4_000, help="Per endpoint.")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--sql", choices=("sqlite", "mariadb"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        results = run(args.events, args.requests, args.concurrency, args.sql, Path(directory))
    print(
        json.dumps(
            {
                "benchmark": "api",
                "events": args.events,
                "sql": args.sql,
                "concurrency": args.concurrency,
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "endpoints": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
