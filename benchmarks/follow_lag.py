"""Lag of `lh projections run --follow` on the embedded defaults while the log grows.

1. Builds a synthetic log of ``--events`` in the embedded SQLite store of a fresh var dir.
2. Starts ``lh projections run --follow`` on it as a separate process (every read model:
   SQLite, chDB, local object store), waits until it has caught up and follows.
3. Appends synthetic trading at ``--rate`` events/s for ``--seconds`` from another process
   (about every 20 ms, recording each append's last position and commit time), while this
   process samples every read model's checkpoint every ``--sample`` s from the follower's
   metrics endpoint and, every ``--query-every`` s, runs ``pnl_by_day`` through the follower
   (the path ``lh analytics`` takes while chDB is held).
4. Lag of a sample, in seconds: how long ago the oldest event not yet applied was committed
   (0 when caught up); in events: head - checkpoint. Stops the follower with SIGINT.

Prints ONE JSON object: lag p50/p99/max per read model, achieved rate, the latency of the
query answered by the follower, and the follower's peak memory.

    .venv/bin/python -m benchmarks.follow_lag                       # 5,000 ev/s for 30 s
    .venv/bin/python -m benchmarks.follow_lag --rate 5000 --seconds 60 --events 100000
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.projections_sql import build_log, percentile
from benchmarks.rebuild import Marks, append_live

LH = "from api.cli import main; main()"
FOLLOW = ("projections", "run", "--follow", "--metrics-port")
Samples = list[tuple[float, int]]  # (wall time, checkpoint)


def stats(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values, default=0.0), digits),
    }


def lag_seconds(samples: Samples, marks: Marks) -> list[float]:
    """Per sample: age of the oldest committed event above the checkpoint (0 if none)."""
    positions = [position for position, _ in marks]
    lags = []
    for moment, checkpoint in samples:
        index = bisect.bisect_right(positions, checkpoint)  # first append not fully applied
        behind = index < len(marks) and marks[index][1] <= moment
        lags.append(max(0.0, moment - marks[index][1]) if behind else 0.0)
    return lags


def lag_events(samples: Samples, marks: Marks, start: int) -> list[float]:
    times = [moment for _, moment in marks]
    lags = []
    for moment, checkpoint in samples:
        index = bisect.bisect_right(times, moment)
        head = marks[index - 1][0] if index else start
        lags.append(float(max(0, head - checkpoint)))
    return lags


class Sampler:
    """Every read model's checkpoint from the follower's own metrics (cheap, exact), and now
    and then a named analytics query answered by the follower (what `lh analytics` does)."""

    def __init__(self, var: Path, metrics_port: int, query_every: float) -> None:
        self.metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        self.clickhouse: Any = None
        if query_every:
            from projections.clickhouse.client import open_reader

            self.clickhouse = open_reader(f"chdb://{var / 'analytics'}")
        self.query_every = query_every
        self.last_query = 0.0
        self.query_seconds: list[float] = []

    def read(self) -> dict[str, int]:
        from projections.queries.analytics import Filters, run_named

        if self.clickhouse is not None and time.time() - self.last_query >= self.query_every:
            self.last_query = time.time()
            started = time.perf_counter()
            run_named(self.clickhouse, "pnl_by_day", Filters())
            self.query_seconds.append(time.perf_counter() - started)
        with urllib.request.urlopen(self.metrics, timeout=30) as response:
            text = response.read().decode()
        found = re.findall(r'^lh_projection_checkpoint\{projection="(\w+)"\} (\S+)$', text, re.M)
        return {name: int(float(value)) for name, value in found}

    def close(self) -> None:
        if self.clickhouse is not None:
            self.clickhouse.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_follower(work: Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = work / "follower.log"
    with log.open("wb") as output:
        follower = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LH,
                "projections",
                "run",
                "--follow",
                "--metrics-port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 3_600
    while "following the log" not in log.read_text(errors="replace"):
        if follower.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"the follower did not start: {log.read_text()}")
        time.sleep(0.1)
    return follower


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="log size before following")
    parser.add_argument("--rate", type=float, default=5_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--sample", type=float, default=0.05, help="seconds between samples")
    parser.add_argument(
        "--query-every", type=float, default=1.0, help="seconds between queries; 0: none"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lh-bench-follow-"))
    var = work / "var"
    var.mkdir()
    log = build_log(var / "events.sqlite", args.events)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LH_")}
    env |= {"LH_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1"}
    started = time.time()
    port = free_port()
    follower = start_follower(work, env, port)
    catch_up_seconds = time.time() - started
    sampler = Sampler(var, port, args.query_every)
    names = ("sql", "clickhouse", "objectstore")
    samples: dict[str, Samples] = {name: [] for name in names}
    marks_file = work / "marks.json"
    appender = multiprocessing.get_context("spawn").Process(
        target=append_live, args=(log["url"], args.rate, args.seconds, str(marks_file))
    )
    appender.start()
    live_started, cpu_before = time.time(), cpu_seconds(follower.pid)

    def sample() -> dict[str, int]:
        moment, checkpoints = time.time(), sampler.read()
        for name in names:
            samples[name].append((moment, checkpoints[name]))
        time.sleep(args.sample)
        return checkpoints

    while appender.is_alive():
        sample()
    appender.join()
    live = json.loads(marks_file.read_text())
    marks: Marks = [(int(p), float(t)) for p, t in live["marks"]]
    final = marks[-1][0]
    deadline = time.time() + 300
    while min(sample().values()) < final and time.time() < deadline:
        pass
    follower_peak = peak_rss_mib(follower.pid)
    cpu_share = (cpu_seconds(follower.pid) - cpu_before) / (time.time() - live_started)
    sampler.close()
    follower.send_signal(signal.SIGINT)
    exit_code = follower.wait(120)
    result: dict[str, Any] = {
        "benchmark": "follow_lag",
        "log": log,
        "follower": {
            "command": "lh projections run --follow (embedded SQLite, chDB, local objects)",
            "catch_up_seconds": round(catch_up_seconds, 2),
            "peak_rss_mib": follower_peak,
            "cpu_cores_while_live": round(cpu_share, 2),
            "exit_code_on_sigint": exit_code,
        },
        "live": {
            "target_rate": args.rate,
            "achieved_rate": round(live["sent"] / live["seconds"]),
            "seconds": round(live["seconds"], 1),
            "events": live["sent"],
            "caught_up": {name: samples[name][-1][1] >= final for name in names},
        },
        "lag_seconds": {name: stats(lag_seconds(samples[name], marks)) for name in names},
        "lag_events": {
            name: stats(lag_events(samples[name], marks, log["events"]), 0) for name in names
        },
        "pnl_by_day_through_follower_seconds": stats(sampler.query_seconds, 4),
        "queries": len(sampler.query_seconds),
        "samples": len(samples["sql"]),
        "target_lag_seconds": 1.0,
    }
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
