"""What starting ``lh`` costs: CPU seconds (user + sys of the process and its children, from
``wait4``) of importing the CLI, ``lh --help``, ``lh backtest --help`` and a whole
``lh backtest --json`` on the bundled sample, each in a fresh process.

With ``--baseline OTHER_CHECKOUT`` every round runs each command in the baseline checkout
and then in this one, so both see the same machine; CPU time, not wall time, because the
machine is shared (wall seconds are reported too). Prints ONE JSON object: per tree and
command, the median and range. ``--data FILE`` adds the whole ``lh backtest --json`` on that
file with the peers' rules (``benchmarks.peers``: sma_cross 10/30, size 1, 0.1 %);
``--only-data`` runs just that one.

    .venv/bin/python -m benchmarks.cli_start --rounds 5 --baseline ../main
    .venv/bin/python -m benchmarks.cli_start --baseline ../main --data bars.csv --only-data
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv"
COMMANDS = {
    "import api.cli": ["-c", "import api.cli"],
    "lh --help": ["-m", "api", "--help"],
    "lh backtest --help": ["-m", "api", "backtest", "--help"],
    "lh backtest --json": [
        "-m", "api", "backtest", "--data", SAMPLE, "--strategy", "sma_cross", "--json",
    ],
}  # fmt: skip
PEER_RULES = [
    "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", "--param", "size=1",
    "--cash", "1000000000", "--commission", "0.001", "--json",
]  # fmt: skip


def cpu_seconds(tree: Path, arguments: list[str]) -> tuple[float, float]:
    """User + sys CPU seconds and wall seconds of ``python arguments`` run in ``tree`` with a
    fresh var dir and no config file."""
    with tempfile.TemporaryDirectory() as var:
        config = Path(var) / "none.toml"
        config.write_text("")
        env = {**os.environ, "PYTHONPATH": str(tree), "LH_VAR_DIR": var, "LH_CONFIG": str(config)}
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *arguments],
            cwd=tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed in {tree}: {errors.decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout, run interleaved")
    parser.add_argument("--data", type=Path, help="also time lh backtest --json on this file")
    parser.add_argument("--only-data", action="store_true", help="time only the --data run")
    options = parser.parse_args()
    commands = {} if options.only_data else dict(COMMANDS)
    if options.data is not None:
        data = str(options.data.resolve())
        commands["lh backtest --json --data"] = [
            "-m",
            "api",
            "backtest",
            "--data",
            data,
            *PEER_RULES,
        ]
    trees = {"this": ROOT}
    if options.baseline is not None:
        trees = {"baseline": options.baseline.resolve(), **trees}
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {command: [] for command in commands} for name in trees
    }
    for _ in range(options.rounds):
        for command, arguments in commands.items():
            for name, tree in trees.items():
                samples[name][command].append(cpu_seconds(tree, arguments))
    report = {
        name: {command: _spread(values) for command, values in by_command.items()}
        for name, by_command in samples.items()
    }
    print(
        json.dumps(
            {
                "rounds": options.rounds,
                "trees": {name: str(tree) for name, tree in trees.items()},
                "load_average": os.getloadavg(),
                "data": str(options.data) if options.data else None,
                "cpu_s": report,
            }
        )
    )


def _spread(values: list[tuple[float, float]]) -> dict[str, float]:
    cpu = [value[0] for value in values]
    wall = [value[1] for value in values]
    return {
        "median_cpu_s": round(statistics.median(cpu), 3),
        "min_cpu_s": round(min(cpu), 3),
        "max_cpu_s": round(max(cpu), 3),
        "median_wall_s": round(statistics.median(wall), 3),
        "min_wall_s": round(min(wall), 3),
        "max_wall_s": round(max(wall), 3),
    }


if __name__ == "__main__":
    main()
