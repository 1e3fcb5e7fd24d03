"""``lh live`` refuses, in one line and exit 2 with nothing recorded, what would be unsafe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.services import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ["live", "--venue", "binance", "--key", "main", "--strategy", "sma_cross"]
COMMAND += ["--symbol", "BTC/USDT", "--timeframe", "5m"]
LIMITS = ["--limit", "max_order_notional=1000", "--limit", "max_position=1"]
LIMITS += ["--limit", "max_daily_loss=100"]


def _lh(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"PYTHONPATH": str(ROOT), "LH_VAR_DIR": str(tmp_path)} | env
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_account_without_risk_limits_is_refused(tmp_path: Path) -> None:
    line = _one_line(_lh(tmp_path, *COMMAND, "--limit", "max_position=1"))
    assert "needs risk limits set: max_order_notional, max_daily_loss not set" in line


def test_a_redis_without_aof_is_refused(tmp_path: Path) -> None:
    line = _one_line(_lh(tmp_path, *COMMAND, *LIMITS, LH_EVENT_STORE=REDIS_URL))
    assert "live trading will not start" in line and "appendonly" in line


def test_an_unknown_venue_is_refused(tmp_path: Path) -> None:
    args = ["nowhere" if a == "binance" else a for a in COMMAND]
    line = _one_line(_lh(tmp_path, *args, *LIMITS))
    assert "no live venue 'nowhere' in this build; live venues: binance, bybit, okx" in line


def test_a_key_that_is_not_stored_is_refused(tmp_path: Path) -> None:
    line = _one_line(_lh(tmp_path, *COMMAND, *LIMITS, LH_MASTER_KEY=Fernet.generate_key().decode()))
    assert "main" in line
