"""``lh exchange serve`` as users run it: a subprocess printing its URL, its market moving
with wall time times ``--speed``, SIGTERM ending it; bad options end in one line, exit 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _csv(path: Path, rows: int = 400) -> Path:
    lines = ["timestamp,open,high,low,close,volume"]
    for minute in range(rows):
        price = 100 + minute % 7
        stamp = f"2024-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z"
        lines.append(f"{stamp},{price},{price + 1},{price - 1},{price},5")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_serve_prints_its_url_plays_bars_by_speed_and_stops_on_sigterm(tmp_path: Path) -> None:
    data = _csv(tmp_path / "ETHUSDT.csv")
    command = [sys.executable, "-m", "api", "exchange", "serve", "--port", "0",
               "--data", str(data), "--speed", "600", "--history", "10"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:")
        klines = f"{url}/api/v3/klines?symbol=ETHUSDT&interval=1m&limit=1000"
        first = len(httpx.get(klines).json())
        time.sleep(0.6)  # 600x: a one-minute bar closes every 0.1 s
        assert len(httpx.get(klines).json()) >= first + 3
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=15)
    assert process.returncode == 0
    assert b"Traceback" not in errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "http5xx=7"], "--faults: http5xx: '7' is not a probability"),
        (["--data", "/nonexistent/bars.csv"], "--data /nonexistent/bars.csv"),
        (["--balance", "USDT"], "--balance 'USDT': write ASSET=AMOUNT"),
        (["--speed", "-1"], "--speed and --history must not be negative"),
    ],
)
def test_bad_options_fail_in_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["exchange", "serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
