"""The scheduled sealer (`lh archive seal --every`): a real process seals new events on each
pass, reports its progress as metrics and JSON log lines, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from infra.eventstore.factory import open_event_store
from projections.runner import wait_until
from tests.eventstore.events import venue_event
from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _sealed_to(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("lh_archive_sealed_to "):
                return float(line.split()[1])
    return -1.0


def test_sealer_seals_each_pass_and_stops_on_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.sqlite'}"
    store = open_event_store(url)
    store.append([venue_event("venue-sim", version) for version in (1, 2, 3)])
    (tmp_path / "empty.toml").write_text("")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LH_")} | {
        "PYTHONPATH": str(ROOT),
        "LH_CONFIG": str(tmp_path / "empty.toml"),
        "LH_VAR_DIR": str(tmp_path / "var"),
        "LH_EVENT_STORE": url,
        "LH_OBJECT_STORE": f"file://{tmp_path / 'objects'}",
    }
    port = free_port()
    command = [sys.executable, "-m", "api", "archive", "seal", "--final", "--every", "0.3"]
    sealer = subprocess.Popen(
        [*command, "--metrics-port", str(port), "--log-json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, 60)
        assert wait_until(lambda: _sealed_to(port) == 3, 30)
        store.append([venue_event("venue-sim", version) for version in (4, 5)])
        assert wait_until(lambda: _sealed_to(port) == 5, 30)
    finally:
        sealer.send_signal(signal.SIGTERM)
        _, stderr = sealer.communicate(timeout=30)
    assert sealer.returncode == 0, stderr
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    sealed = [line for line in logged if line["event"].startswith("sealed ")]
    assert sealed and sealed[-1]["level"] == "info"
    assert "sealed to 5 of head 5" in sealed[-1]["event"]
