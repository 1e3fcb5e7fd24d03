"""Loading benchmark: ``load_bars`` of one bar file, timed in wall and CPU seconds (all threads
of the process), with the peak and final RSS. Prints ONE JSON object.

    .venv/bin/python -m benchmarks.data --bars 1000000 --out /tmp/bars.csv
    .venv/bin/python -m benchmarks.parquet_copies /tmp/bars.csv
    .venv/bin/python -m benchmarks.load /tmp/bars.csv
    .venv/bin/python -m benchmarks.load /tmp/bars.decimal.parquet
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path


def memory_mib() -> dict[str, int]:
    """Peak (``VmHWM``) and current (``VmRSS``) resident memory of this process."""
    status = Path("/proc/self/status").read_text()
    found = {key: re.search(rf"{key}:\s+(\d+)", status) for key in ("VmHWM", "VmRSS")}
    return {key: int(match.group(1)) >> 10 for key, match in found.items() if match}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("path", type=Path)
    args = parser.parse_args()
    from adapters.marketdata import load_bars
    from api.application import backtest  # noqa: F401  # what a run imports, in the baseline

    before = memory_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    loaded = load_bars(args.path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = sum(len(series) for series in loaded.values())
    after = memory_mib()
    print(
        json.dumps(
            {
                "benchmark": "load",
                "file": str(args.path),
                "rows": rows,
                "wall_seconds": round(wall, 3),
                "cpu_seconds": round(cpu, 3),
                "rows_per_s": round(rows / wall),
                "rows_per_cpu_s": round(rows / cpu),
                "rss_mib_before": before.get("VmRSS"),
                "peak_rss_mib": after.get("VmHWM"),
                "rss_mib_after": after.get("VmRSS"),
                "digests": {symbol: series.digest for symbol, series in loaded.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
