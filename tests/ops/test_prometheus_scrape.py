"""A real Prometheus scrapes a running paper session and a projection runner following the
same log (both real `lh` processes with --metrics-port), and the metrics come back through
Prometheus's HTTP API: what the deployed stack's dashboards and alerts read. The session logs
JSON lines carrying its run id and correlation id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.marketdata.sample import SAMPLE_CSV
from tests.ops.support import tool
from tests.services import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: lh-session
    static_configs: [{{targets: ["127.0.0.1:{session}"]}}]
  - job_name: lh-projections
    static_configs: [{{targets: ["127.0.0.1:{projections}"]}}]
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LH_")}
    (tmp_path / "empty.toml").write_text("")
    return env | {
        "PYTHONPATH": str(ROOT),
        "LH_CONFIG": str(tmp_path / "empty.toml"),
        "LH_VAR_DIR": str(tmp_path / "var"),
        "LH_EVENT_STORE": f"sqlite:///{tmp_path / 'events.sqlite'}",
        "LH_SQL_URL": f"sqlite:///{tmp_path / 'readmodel.sqlite'}",
    }


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Started processes, interrupted (then killed if need be) at the end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.send_signal(signal.SIGINT)
    for process in started:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _lh(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "api", *args], env=env, stdout=output, stderr=output
        )


def _query(port: int, expression: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


def _wait_ready(port: int, timeout: float = 60.0) -> None:
    """Prometheus answers 503 until its storage is open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5):
                return
        except OSError:  # refused, or HTTPError 503 while starting
            time.sleep(0.3)
    raise AssertionError(f"Prometheus on port {port} never became ready")


def _value(port: int, expression: str, timeout: float = 60.0) -> float:
    """The first sample of ``expression`` once Prometheus has one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = _query(port, expression)
        if result:
            value = result[0]["value"]
            assert isinstance(value, list)
            return float(value[1])
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never answered {expression!r}")


def test_prometheus_reads_session_and_projection_metrics(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    prometheus = tool("prometheus")
    env = _env(tmp_path)
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:601]) + "\n")
    session_port, projections_port, prometheus_port = free_port(), free_port(), free_port()
    log = tmp_path / "lh.log"
    processes.append(
        _lh(
            env,
            log,
            *("paper", "--data", str(data), "--strategy", "sma_cross", "--symbol", "BTCUSDT"),
            *("--speed", "600", "--run-id", "obs-paper", "--metrics-port", str(session_port)),
            "--log-json",
        )
    )
    wait_for_port(session_port, 60)
    processes.append(
        _lh(
            env,
            log,
            "projections",
            "run",
            "--follow",
            "--only",
            "sql",
            "--metrics-port",
            str(projections_port),
        )
    )
    wait_for_port(projections_port, 60)
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(session=session_port, projections=projections_port))
    with (tmp_path / "prometheus.log").open("ab") as output:
        processes.append(
            subprocess.Popen(
                [
                    prometheus,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                ],
                stdout=output,
                stderr=output,
            )
        )
    wait_for_port(prometheus_port, 30)
    _wait_ready(prometheus_port)

    appended = _value(prometheus_port, 'lh_events_appended_total{job="lh-session"} > 0')
    assert appended > 0, log.read_text()
    checkpoint = _value(prometheus_port, 'lh_projection_checkpoint{projection="sql"} > 0')
    assert checkpoint > 0, log.read_text()
    equity = _value(prometheus_port, 'lh_session_equity{run_id="obs-paper"}')
    assert equity > 0
    assert _value(prometheus_port, 'lh_projection_lag_seconds{projection="sql"}') >= 0
    assert _value(prometheus_port, 'process_resident_memory_bytes{job="lh-projections"}') > 0
    jobs = {str(sample["metric"]) for sample in _query(prometheus_port, "up == 1")}
    assert len(jobs) == 2 and all("lh-" in job for job in jobs), jobs
    logged = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    session = [line for line in logged if line.get("run_id") == "obs-paper"]
    assert session and session[0]["event"] == "paper session starting: strategy sma_cross"
    assert len(session[0]["correlation_id"]) == 32
