"""``lh`` commands run as child processes (paper sessions, backtest jobs), each with its own
directory holding its pid, output and exit code, so its state outlives the process that
started it: a restarted server still sees a session running, or how a job ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STOP_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class ChildState:
    """``running``; else ``returncode`` (None: it ended while nobody watched)."""

    running: bool
    returncode: int | None
    pid: int | None


class Children:
    """The child processes started here, by directory; state read back from the directory."""

    def __init__(self) -> None:
        self._started: dict[Path, subprocess.Popen[bytes]] = {}

    def launch(self, directory: Path, args: list[str]) -> int:
        """Start ``lh ARGS`` in its own process group; its pid."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "returncode").unlink(missing_ok=True)
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        with (
            open(directory / "stdout", "wb") as out,
            open(directory / "stderr", "wb") as err,
        ):
            child = subprocess.Popen(
                [sys.executable, "-m", "api", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        (directory / "pid").write_text(str(child.pid))
        self._started[directory] = child
        return child.pid

    def state(self, directory: Path) -> ChildState:
        child = self._started.get(directory)
        if child is not None:
            code = child.poll()
            if code is None:
                return ChildState(True, None, child.pid)
            (directory / "returncode").write_text(str(code))
            del self._started[directory]
        code_file, pid_file = directory / "returncode", directory / "pid"
        pid = int(pid_file.read_text()) if pid_file.is_file() else None
        if code_file.is_file():
            return ChildState(False, int(code_file.read_text()), pid)
        if pid is not None and _is_lh(pid):
            return ChildState(True, None, pid)
        return ChildState(False, None, pid)

    def stop(self, directory: Path, *, interrupt: bool = True) -> ChildState:
        """SIGINT (``lh paper`` records an operator stop) or SIGKILL, then wait for the end."""
        state = self.state(directory)
        if not state.running or state.pid is None:
            return state
        os.kill(state.pid, signal.SIGINT if interrupt else signal.SIGKILL)
        child = self._started.get(directory)
        if child is not None:
            try:
                child.wait(STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return self.state(directory)

    def output(self, directory: Path, name: str) -> str:
        path = directory / name
        return path.read_text(errors="replace") if path.is_file() else ""


def _is_lh(pid: int) -> bool:
    """Whether ``pid`` is alive and an ``lh`` process (a reused pid is not ours)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"-m" in command and b"api" in command
