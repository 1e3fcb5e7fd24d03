"""Read-only commands work on a read-only ``LH_VAR_DIR``; writing ones refuse in one line.

Tests run as root, for whom ``chmod`` stops nothing: each command runs in its own mount
namespace (``unshare -m``) where the var dir is bind-mounted read-only, so writes fail with
EROFS exactly as on a read-only disk, and the mount vanishes with the process.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

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
]


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


def lh_on_read_only(
    var: Path, *args: str, writable: bool = False
) -> subprocess.CompletedProcess[str]:
    """``lh args`` with ``LH_VAR_DIR=var``, in a mount namespace where ``var`` is read-only
    (unless ``writable``)."""
    command = shlex.join([sys.executable, "-m", "api", *args])
    if not writable:
        mount = f"mount --bind -o ro {shlex.quote(str(var))} {shlex.quote(str(var))}"
        command = f"{mount} && exec {command}"
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        capture_output=True,
        check=False,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), "LH_VAR_DIR": str(var)},
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
    ):
        result = lh_on_read_only(var, *args, writable=True)
        assert result.returncode == 0, result.stderr
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
