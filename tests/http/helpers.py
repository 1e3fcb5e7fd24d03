"""A recorded backtest with its SQL read model caught up: data for the read routes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from api.cli import app
from tests.trading.helpers import wave_bars, write_bars_csv


def lh_ok(*args: str) -> str:
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


def bars_file(tmp_path: Path, count: int = 300) -> Path:
    return write_bars_csv(tmp_path / "bars.csv", wave_bars(count))


def record_backtest(tmp_path: Path, run_id: str = "bt-api") -> dict[str, Any]:
    """``lh backtest`` of sma_cross over wave bars, then ``lh projections run --only sql``."""
    data = bars_file(tmp_path)
    out = lh_ok("backtest", "--data", str(data), "--strategy", "sma_cross", "--run-id", run_id,
                "--json")  # fmt: skip
    lh_ok("projections", "run", "--only", "sql")
    result: dict[str, Any] = json.loads(out)
    return result
