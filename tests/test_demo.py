"""The README's main job: `lh demo` on embedded defaults, run twice (the second records nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def _demo(var: Path) -> str:
    env = {**os.environ, "LH_VAR_DIR": str(var), "COLUMNS": "120"}
    result = subprocess.run(
        [sys.executable, "-m", "api", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_demo_builds_everything_and_a_rerun_records_nothing(tmp_path: Path) -> None:
    first = _demo(tmp_path / "var")
    assert "SYNTHETIC" in first
    recorded = int(re.search(r"(\d+) new events recorded", first).group(1))  # type: ignore[union-attr]
    for name in ("sql", "clickhouse", "objectstore"):
        assert re.search(rf"{name}\s+│ {recorded}\s+│ {recorded}\s+│ 0", first), first
    assert f"sealed up to position {recorded}" in first and "chain verified" in first
    assert "lh analytics run pnl_by_day" in first
    for title in ("Trade report", "Compliance report", "Programmatic-trading declaration"):
        assert re.search(rf"{title}: \d+ figures cross-checked .* published to file://", first)

    second = _demo(tmp_path / "var")
    assert "runs already recorded" in second
    assert "(+0 this run)" in second
    assert f"sealed up to position {recorded}" in second
    assert "already published at file://" in second
