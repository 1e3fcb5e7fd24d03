"""REST API benchmark: p50/p99 latency and throughput of GET /positions, GET /orders?limit=100
and GET /system/status with 200 concurrent connections, from loopback.

    python -m benchmarks.api --events 20000 --seconds 10
    python -m benchmarks.api --events 20000 --seconds 10 --sql mariadb

Builds a synthetic trading log (``tests/fixtures/synthetic.py``) of ``--events`` events in a
fresh embedded store, catches the SQL read model up (``lh projections run --only sql``: SQLite
by default, or a fresh MariaDB database), creates a viewer key, starts ``lh serve`` in its own
process (no rate limit; ``--workers N`` uvicorn workers) and drives it from loopback, one
endpoint after the other after a warm-up: with wrk (Debian's ``wrk``, the default when it is
installed; ``--threads`` wrk threads) for ``--seconds`` per endpoint, or with ``--client
python``: ``--concurrency`` keep-alive connections (raw asyncio streams), each sending its share
of ``--requests`` per endpoint. Reports per endpoint p50/p99 latency, throughput, the server's
CPU milliseconds per request, the 1-minute load average before and after it (the load
generator shares the machine: p99 depends on it) and whether p99 met the 100 ms target.
``--server-root`` serves from another checkout (say the commit before a change) with the same
load generator, for a before/after in one session. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlalchemy

from api.application.api_keys import ApiKeyStore, Role
from benchmarks.audit_verify import build
from infra.eventstore.factory import open_event_store
from tests.services import MYSQL_URL, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ("/api/v1/positions", "/api/v1/orders?limit=100", "/api/v1/system/status")
TARGET_P99_MS = 100.0


def prepare(
    directory: Path, events: int, sql: str, root: Path = ROOT
) -> tuple[dict[str, str], str | None]:
    """The environment of a store holding ``events`` events and its caught-up read model;
    the MariaDB database to drop afterwards, if any."""
    env = os.environ | {"PYTHONPATH": str(root), "LH_VAR_DIR": str(directory / "var")}
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
        env=env, cwd=root, check=True, capture_output=True,
    )  # fmt: skip
    return env, database


async def _connection(host: str, port: int, request: bytes) -> Callable[[], Awaitable[int]]:
    """One keep-alive HTTP/1.1 connection sending ``request``; each call answers the status."""
    reader, writer = await asyncio.open_connection(host, port)

    async def send() -> int:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    return send


async def drive(
    port: int, key: str, path: str, requests: int, concurrency: int, server: int
) -> dict[str, Any]:
    """``requests`` GETs of ``path`` over ``concurrency`` connections (raw asyncio streams:
    the load generator costs far less CPU than an HTTP client library would); the server's
    CPU seconds (``server`` and its worker processes) are read around the measured part."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
    connections = [await _connection("127.0.0.1", port, request) for _ in range(concurrency)]
    latencies: list[float] = []
    errors = 0

    async def worker(send: Callable[[], Awaitable[int]], count: int) -> None:
        nonlocal errors
        for _ in range(count):
            started = time.perf_counter()
            try:
                status = await send()
            except (OSError, asyncio.IncompleteReadError):  # a dropped connection: an error
                errors += 1
                return
            latencies.append(time.perf_counter() - started)
            errors += status != 200

    await asyncio.gather(*(worker(send, 3) for send in connections))  # warm-up
    latencies.clear()
    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    cpu = cpu_seconds(server)
    started = time.perf_counter()
    await asyncio.gather(*(worker(send, n) for send, n in zip(connections, share, strict=True)))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(server) - cpu
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "requests_per_s": round(len(latencies) / seconds),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 3),
    }


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def drive_wrk(
    port: int, key: str, path: str, seconds: int, concurrency: int, server: int, threads: int
) -> dict[str, Any]:
    """The same measurement with wrk (Debian's ``wrk`` package: a C load generator, one
    epoll loop per thread), for ``seconds`` after a 2 s warm-up."""
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", "-H", f"Authorization: Bearer {key}",
               "--latency", f"http://127.0.0.1:{port}{path}"]  # fmt: skip
    subprocess.run([*command[:-2], "-d2s", command[-1]], check=True, capture_output=True)
    cpu = cpu_seconds(server)
    out = subprocess.run([*command, f"-d{seconds}s"], check=True, capture_output=True, text=True)
    cpu = cpu_seconds(server) - cpu
    found: dict[str, Any] = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            number = parts[1].rstrip("smu")
            found[parts[0]] = float(number) * _UNITS[parts[1][len(number) :]]
        elif "requests in" in line:
            total = int(parts[0])
        elif line.startswith("Requests/sec:"):
            found["rate"] = float(parts[1])
        elif line.strip().startswith("Non-2xx") or line.strip().startswith("Socket errors"):
            found["errors"] = line.strip()
    return {
        "requests": total,
        "errors": found.get("errors", 0),
        "p50_ms": round(found["50%"], 1),
        "p99_ms": round(found["99%"], 1),
        "requests_per_s": round(found["rate"]),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, total), 3),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending += [int(child) for child in children]
    return total


def server_stack() -> dict[str, str]:
    """What uvicorn serves with in this interpreter: it picks httptools and uvloop when they
    are installed, else h11 and asyncio's own loop."""
    found = {name: importlib.util.find_spec(name) is not None for name in ("httptools", "uvloop")}
    return {
        "http": "httptools" if found["httptools"] else "h11",
        "loop": "uvloop" if found["uvloop"] else "asyncio",
    }


def run(
    events: int, requests: int, concurrency: int, sql: str, directory: Path, options: Any
) -> dict[str, Any]:
    server_root = Path(options.server_root or ROOT).resolve()
    env, database = prepare(directory, events, sql, server_root)
    os.environ["LH_VAR_DIR"] = env["LH_VAR_DIR"]
    key = ApiKeyStore().create("bench", Role.VIEWER)[1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--rate", "0",
         *(["--workers", str(options.workers)] if options.workers > 1 else [])],
        env=env, cwd=server_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        results = {}
        for path in ENDPOINTS:
            load = os.getloadavg()[0]
            found = (
                drive_wrk(
                    port, key, path, options.seconds, concurrency, server.pid, options.threads
                )
                if options.client == "wrk"
                else asyncio.run(drive(port, key, path, requests, concurrency, server.pid))
            )
            found["load_average_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            found["p99_under_100_ms"] = found["p99_ms"] < TARGET_P99_MS
            results[path] = found
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
    parser.add_argument("--workers", type=int, default=1, help="lh serve --workers N.")
    parser.add_argument(
        "--client",
        choices=("python", "wrk"),
        default="wrk" if shutil.which("wrk") else "python",
        help="The load generator (wrk when installed).",
    )
    parser.add_argument("--seconds", type=int, default=10, help="Per endpoint, with wrk.")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads.")
    parser.add_argument(
        "--server-root", help="Serve from this checkout (another commit, for a before/after)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        results = run(args.events, args.requests, args.concurrency, args.sql, Path(directory), args)
    print(
        json.dumps(
            {
                "benchmark": "api",
                "events": args.events,
                "sql": args.sql,
                "concurrency": args.concurrency,
                "workers": args.workers,
                "client": args.client,
                "wrk_threads": args.threads if args.client == "wrk" else None,
                "server_root": args.server_root or str(ROOT),
                "server_stack": server_stack(),
                "target": f"p99 under {TARGET_P99_MS:g} ms at each endpoint",
                "load_average": os.getloadavg(),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "endpoints": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
