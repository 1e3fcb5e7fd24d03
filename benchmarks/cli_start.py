"""What starting ``lh`` costs: CPU seconds (user + sys of the process and its children, from
``wait4``) of importing the CLI, ``lh --help``, ``lh backtest --help`` and a whole
``lh backtest --json`` on the bundled sample, each in a fresh process.

With ``--baseline OTHER_CHECKOUT`` every round runs each command in the baseline checkout
and then in this one, so both see the same machine; CPU time, not wall time, because the
machine is shared. Prints ONE JSON object: per tree and command, the median and range.

    .venv/bin/python -m benchmarks.cli_start --rounds 5 --baseline ../main
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def cpu_seconds(tree: Path, arguments: list[str]) -> float:
    """User + sys CPU seconds of ``python arguments`` run in ``tree`` with a fresh var dir."""
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "PYTHONPATH": str(tree), "LH_VAR_DIR": var}
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
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed in {tree}: {errors.decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout, run interleaved")
    options = parser.parse_args()
    trees = {"this": ROOT}
    if options.baseline is not None:
        trees = {"baseline": options.baseline.resolve(), **trees}
    samples: dict[str, dict[str, list[float]]] = {
        name: {command: [] for command in COMMANDS} for name in trees
    }
    for _ in range(options.rounds):
        for command, arguments in COMMANDS.items():
            for name, tree in trees.items():
                samples[name][command].append(cpu_seconds(tree, arguments))
    report = {
        name: {
            command: {
                "median_cpu_s": round(statistics.median(values), 3),
                "min_cpu_s": round(min(values), 3),
                "max_cpu_s": round(max(values), 3),
            }
            for command, values in by_command.items()
        }
        for name, by_command in samples.items()
    }
    print(
        json.dumps(
            {
                "rounds": options.rounds,
                "trees": {name: str(tree) for name, tree in trees.items()},
                "load_average": os.getloadavg(),
                "cpu_s": report,
            }
        )
    )


if __name__ == "__main__":
    main()
