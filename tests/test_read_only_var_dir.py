"""Read-only commands work on a read-only ``LH_VAR_DIR``; writing ones refuse in one line.

Tests run as root, for whom ``chmod`` stops nothing: each command runs in its own mount
namespace (``unshare -m``) where the var dir is bind-mounted read-only, so writes fail with
EROFS exactly as on a read-only disk, and the mount vanishes with the process.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from adapters.marketdata.sample import SAMPLE_CSV

READS = [
    ["store", "info"],
    ["store", "tail"],
    ["audit", "hashes"],
    ["audit", "state", "--at", "50"],
    ["archive", "status"],
    ["archive", "verify"],
    ["projections", "status"],
    ["projections", "verify"],
    ["analytics", "list"],
    ["analytics", "run", "pnl_by_day"],
    ["analytics", "sql", "SELECT count() AS fills FROM fills"],
    ["limits", "list"],
    ["strategies", "list"],
    ["serve", "--check"],
    ["keys", "api", "list", "--json"],
    ["keys", "venue", "list", "--json"],
    ["grafana", "provision", "--url", "http://grafana:3000", "--token-env", "T", "--dry-run"],
]
MASTER_KEY = "uJ0R6XWCJdOr2xMpbbPQQeVQ0Xgr8Uz3m0mWyEVVXAs="  # a Fernet key, for the test only


def _read_only_mounts_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind -o ro / / && ! touch /tmp/.lh-ro-probe"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _read_only_mounts_work(), reason="needs unshare -m and mount --bind -o ro (root)"
)


def on_read_only(var: Path, *argv: str, writable: bool = False) -> list[str]:
    """``argv`` in a mount namespace where ``var`` is read-only (unless ``writable``)."""
    command = shlex.join(argv)
    if not writable:
        mount = f"mount --bind -o ro {shlex.quote(str(var))} {shlex.quote(str(var))}"
        command = f"{mount} && exec {command}"
    return ["unshare", "-m", "sh", "-c", command]


def lh_env(var: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "LH_VAR_DIR": str(var),
        "LH_MASTER_KEY": MASTER_KEY,
    }


def lh_on_read_only(
    var: Path, *args: str, writable: bool = False, **env: str
) -> subprocess.CompletedProcess[str]:
    """``lh args`` with ``LH_VAR_DIR=var``, in a mount namespace where ``var`` is read-only
    (unless ``writable``)."""
    return subprocess.run(
        on_read_only(var, sys.executable, "-m", "api", *args, writable=writable),
        capture_output=True,
        check=False,
        text=True,
        env={**lh_env(var), **env},
        timeout=300,
    )


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir holding a backtest's log, a sealed archive and every read model; the event
    store closed cleanly (no -wal: the case ``immutable=1`` is for)."""
    tmp_path = tmp_path_factory.mktemp("read-only")
    var = tmp_path / "var"
    bars = tmp_path / "bars.csv"
    bars.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:401]) + "\n")
    for args in (
        ["backtest", "--data", str(bars), "--strategy", "sma_cross"],
        ["archive", "seal"],
        ["projections", "run"],
        ["keys", "api", "create", "--owner", "auditor", "--role", "viewer", "--json"],
        ["keys", "venue", "add", "local", "--api-key-env", "KEY", "--secret-env", "SECRET"],
        ["store", "info"],  # closes the store cleanly: `projections run` leaves its -wal open
    ):
        result = lh_on_read_only(var, *args, writable=True, KEY="key", SECRET="secret")
        assert result.returncode == 0, result.stderr
        if "--json" in args:
            (tmp_path / "api-key").write_text(json.loads(result.stdout)["key"])
    assert not (var / "events.sqlite-wal").exists()
    return var


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_read_only_commands_read_a_read_only_var_dir(var: Path, command: list[str]) -> None:
    before = sorted(path.name for path in var.iterdir())
    result = lh_on_read_only(var, *command)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in var.iterdir()) == before
    assert result.stdout == lh_on_read_only(var, *command, writable=True).stdout


def test_a_read_only_store_with_commits_in_its_wal_is_refused_in_one_line(
    var: Path, tmp_path: Path
) -> None:
    """A -wal without its -shm holds commits only a writer can replay: never read them away."""
    copy = shutil.copytree(var, tmp_path / "copy")
    connection = sqlite3.connect(copy / "events.sqlite")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE later (x)")  # a commit left in the -wal
    shutil.copy(copy / "events.sqlite-wal", copy / "kept-wal")
    connection.close()  # checkpoints and removes -wal and -shm
    (copy / "kept-wal").rename(copy / "events.sqlite-wal")  # as after a crash, no -shm
    assert not (copy / "events.sqlite-shm").exists()
    result = lh_on_read_only(copy, "store", "info")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "events.sqlite-wal" in result.stderr
    assert "write access" in result.stderr


def test_a_read_only_store_open_by_a_writer_is_read_with_its_wal(var: Path, tmp_path: Path) -> None:
    """With -wal and -shm present (a writer has it open), ``mode=ro`` reads the WAL's commits."""
    copy = shutil.copytree(var, tmp_path / "copy")
    writer = sqlite3.connect(copy / "events.sqlite")
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        head = writer.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        writer.execute("DELETE FROM stored_events WHERE rowid = ?", (head,))
        writer.commit()  # a commit only in the -wal
        assert (copy / "events.sqlite-shm").exists()
        result = lh_on_read_only(copy, "store", "info")
    finally:
        writer.close()
    assert result.returncode == 0, result.stderr
    assert f"head position: {head - 1}" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["backtest", "--data", str(SAMPLE_CSV), "--strategy", "sma_cross"],
        ["archive", "seal", "--final"],
    ],
    ids=" ".join,
)
def test_writing_commands_on_a_read_only_var_dir_are_one_line(
    var: Path, command: list[str]
) -> None:
    result = lh_on_read_only(var, *command)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "LH_VAR_DIR" in result.stderr and "writable" in result.stderr


@contextmanager
def running(var: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[str]]:
    """``lh args`` left running on the read-only ``var``; stopped (SIGTERM) on the way out."""
    process = subprocess.Popen(
        on_read_only(var, sys.executable, "-m", "api", *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**lh_env(var), **env},
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str, key: str = "", wait: float = 60) -> httpx.Response:
    """``GET url`` once the server answers (it is starting)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return httpx.get(url, headers=headers, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _console_in_a_terminal(var: Path, url: str, key: str) -> tuple[int, bytes]:
    """``lh console`` on a pseudo-terminal until it shows its screen, then ``q``: its exit
    code and what it drew."""
    terminal, side = os.openpty()
    argv = on_read_only(var, sys.executable, "-m", "api", "console", "--url", url)
    env = {**lh_env(var), "LH_API_KEY": key, "TERM": "xterm-256color"}
    process = subprocess.Popen(argv, stdin=side, stdout=side, stderr=side, env=env)
    os.close(side)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        while b"Positions" not in screen and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.5)[0]:
                screen += os.read(terminal, 65536)
        for _ in range(30):  # until the app reads keys
            os.write(terminal, b"q")
            try:
                return process.wait(timeout=1), screen
            except subprocess.TimeoutExpired:
                while select.select([terminal], [], [], 0)[0]:
                    screen += os.read(terminal, 65536)
        process.kill()
        return process.wait(), screen
    finally:
        os.close(terminal)


def test_the_servers_and_the_console_run_on_a_read_only_var_dir(var: Path) -> None:
    """``lh exchange serve``, ``lh serve`` and ``lh console`` run on a read-only var dir;
    ``lh live`` (it records) is refused in one line."""
    before = sorted(path.name for path in var.iterdir())
    key = (var.parent / "api-key").read_text()
    port = _free_port()
    with (
        running(var, "exchange", "serve", "--port", "0", "--speed", "0") as exchange,
        running(var, "serve", "--port", str(port)),
    ):
        assert exchange.stdout is not None
        venue = exchange.stdout.readline().strip()
        assert _get(f"{venue}/api/v3/ping").status_code == 200
        live = lh_on_read_only(
            var, "live", "--venue", "binance", "--key", "local", "--venue-url", venue,
            "--strategy", "sma_cross", "--symbol", "BTC/USDT", "--timeframe", "5m",
            "--limit", "max_order_notional=1000", "--limit", "max_daily_loss=100",
            "--limit", "max_position=1",
        )  # fmt: skip
        assert live.returncode == 2, live.stderr
        assert len(live.stderr.strip().splitlines()) == 1, live.stderr
        assert "LH_VAR_DIR" in live.stderr and "writable" in live.stderr
        api = f"http://127.0.0.1:{port}"
        status = _get(f"{api}/api/v1/system/status", key)
        assert status.status_code == 200, status.text
        code, screen = _console_in_a_terminal(var, api, key)
        assert code == 0 and b"Traceback" not in screen, screen[-2000:]
    assert sorted(path.name for path in var.iterdir()) == before
