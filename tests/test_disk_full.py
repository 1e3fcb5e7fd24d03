"""A full disk ends every command in one line; nothing recorded is harmed; a rerun resumes.

The disk is a real 16 MiB tmpfs (needs root to mount; skipped otherwise), filled with a
ballast file to leave a little room, so writes fail with ENOSPC mid-command exactly as on a
full disk. ``free()`` deletes the ballast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.marketdata.sample import SAMPLE_CSV

BACKTEST = ["backtest", "--data", str(SAMPLE_CSV), "--strategy", "sma_cross", "--json"]


@dataclass
class Disk:
    path: Path

    def fill(self, leave: int) -> None:
        """Take all but ``leave`` bytes of the disk."""
        stats = os.statvfs(self.path)
        with (self.path / "ballast").open("ab") as ballast:
            ballast.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))

    def free(self) -> None:
        (self.path / "ballast").unlink()

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.path.rglob(".tmp-*"))


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def lh(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), **env},
        timeout=600,
    )


def one_disk_full_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "disk full" in lines[0] and "free space" in lines[0], lines[0]
    return lines[0]


def outcome(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    """What a backtest concluded (not where its events landed in the log)."""
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    return {"final_equity": report["final_equity"], "metrics": report["metrics"]}


def test_backtest_filling_the_disk_stops_in_one_line_and_resumes_to_the_same_result(
    disk: Disk, tmp_path: Path
) -> None:
    var = str(disk.path / "var")
    disk.fill(leave=1024 * 1024)  # the run's log needs several MiB
    one_disk_full_line(lh(*BACKTEST, LH_VAR_DIR=var))
    hashes = lh("audit", "hashes", LH_VAR_DIR=var)  # on the still full disk
    assert hashes.returncode == 0, hashes.stderr
    disk.free()
    resumed = outcome(lh(*BACKTEST, LH_VAR_DIR=var))
    assert resumed == outcome(lh(*BACKTEST, LH_VAR_DIR=str(tmp_path / "reference")))
    assert lh("audit", "hashes", LH_VAR_DIR=var).returncode == 0


@pytest.mark.parametrize(
    ("name", "variable", "url"),
    [
        ("sql", "LH_SQL_URL", "sqlite:///{disk}/readmodel.sqlite"),
        ("clickhouse", "LH_CLICKHOUSE_URL", "chdb://{disk}/analytics"),
    ],
)
def test_projections_run_filling_the_read_model_disk_stops_in_one_line_and_resumes(
    disk: Disk, name: str, variable: str, url: str
) -> None:
    """The events live elsewhere; the read model's files are on the full disk."""
    assert lh(*BACKTEST).returncode == 0
    env = {variable: url.format(disk=disk.path)}
    disk.fill(leave=512 * 1024)
    line = one_disk_full_line(lh("projections", "run", "--only", name, **env))
    assert variable in line and f"read model {name} stopped at its checkpoint" in line
    disk.free()
    assert lh("projections", "run", "--only", name, **env).returncode == 0
    verify = lh("projections", "verify", "--only", name, **env)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_archive_seal_filling_the_object_store_leaves_nothing_half_sealed(disk: Disk) -> None:
    assert lh(*BACKTEST).returncode == 0
    objects = f"file://{disk.path / 'objects'}"
    seal = ["archive", "seal", "--segment-size", "1000"]
    disk.fill(leave=64 * 1024)  # a 1,000-event segment is larger
    line = one_disk_full_line(lh(*seal, LH_OBJECT_STORE=objects))
    assert ".seg" in line  # names the segment it could not write
    assert disk.leftovers() == []
    disk.free()
    sealed = lh(*seal, LH_OBJECT_STORE=objects)
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed to 6000" in sealed.stdout
    verify = lh("archive", "verify", LH_OBJECT_STORE=objects)
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["paper", "--data", str(SAMPLE_CSV), "--strategy", "sma_cross", "--speed", "0"],
        ["optimize", "--data", str(SAMPLE_CSV), "--strategy", "sma_cross", "--grid", "fast=5,10"],
        ["demo"],
    ],
    ids=lambda command: command[0],
)
def test_other_recording_commands_on_a_full_disk_are_one_line(
    disk: Disk, command: list[str]
) -> None:
    var = str(disk.path / "var")
    disk.fill(leave=1024 * 1024)
    one_disk_full_line(lh(*command, LH_VAR_DIR=var))
    hashes = lh("audit", "hashes", LH_VAR_DIR=var)
    assert hashes.returncode == 0, hashes.stderr


READS_ON_A_FULL_DISK = [
    ["serve", "--check"],
    ["keys", "api", "list", "--json"],
    ["keys", "venue", "list", "--json"],
    ["grafana", "provision", "--url", "http://grafana:3000", "--token-env", "T", "--dry-run"],
    ["audit", "verify", "--log-only"],
]
MASTER_KEY = "uJ0R6XWCJdOr2xMpbbPQQeVQ0Xgr8Uz3m0mWyEVVXAs="  # a Fernet key, for the test only


def test_the_new_commands_on_a_disk_with_no_byte_free(disk: Disk, tmp_path: Path) -> None:
    """Not one byte free (SQLite cannot even create an -shm index): the reading commands
    still work, reading the files read-only; those that write end in one line."""
    env = {"LH_VAR_DIR": str(disk.path / "var"), "LH_MASTER_KEY": MASTER_KEY}
    bars = tmp_path / "bars.csv"
    bars.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:401]) + "\n")
    for args in (
        ["backtest", "--data", str(bars), "--strategy", "sma_cross"],
        ["projections", "run", "--only", "sql"],
        ["keys", "api", "create", "--owner", "auditor", "--role", "viewer"],
        ["keys", "venue", "add", "local", "--api-key-env", "KEY", "--secret-env", "SECRET"],
    ):
        result = lh(*args, **env, KEY="key", SECRET="secret")
        assert result.returncode == 0, result.stderr
    exchange = subprocess.Popen(
        [sys.executable, "-m", "api", "exchange", "serve", "--port", "0", "--speed", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        assert exchange.stdout is not None
        venue = exchange.stdout.readline().strip()
        disk.fill(leave=0)
        for command in READS_ON_A_FULL_DISK:
            result = lh(*command, **env)
            assert result.returncode == 0, (command, result.stderr)
        one_disk_full_line(lh("keys", "api", "create", "--owner", "x", "--role", "viewer", **env))
        rotate = ["keys", "venue", "rotate", "local", "--api-key-env", "KEY", "--secret-env", "S"]
        one_disk_full_line(lh(*rotate, **env, KEY="new-key", S="new-secret"))
        assert not list((disk.path / "var").rglob("*.tmp"))  # the key files are as they were
        live = lh(
            "live", "--venue", "binance", "--key", "local", "--venue-url", venue,
            "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "5m",
            "--limit", "max_order_notional=1000", "--limit", "max_daily_loss=100",
            "--limit", "max_position=1", **env,
        )  # fmt: skip
        one_disk_full_line(live)
    finally:
        exchange.terminate()
        exchange.wait(timeout=30)
