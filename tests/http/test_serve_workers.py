"""``lh serve --workers N``: N uvicorn worker processes, each building its own application from
the environment and the options ``lh serve`` was given; a bad count is refused in one line.
What is served has its startup heap frozen out of the garbage collector's walks."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys

import httpx
from typer.testing import CliRunner

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from api.cli import app
from api.http.app import create_app
from api.http.workers import settled
from tests.control.helpers import ROOT
from tests.services import free_port, wait_for_port


def test_a_worker_count_out_of_bounds_is_refused() -> None:
    done = CliRunner().invoke(app, ["serve", "--workers", "0"])
    assert done.exit_code == 2
    assert "--workers must be from 1 to 64" in done.output


def test_two_workers_serve_with_the_given_rate_limit() -> None:
    key = ApiKeyStore().create("two", Role.VIEWER)[1]
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--workers", "2",
         "--rate", "0.001", "--burst", "1"],
        cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        headers = {"Authorization": f"Bearer {key}"}
        statuses = []
        for _ in range(6):  # a new connection each time: the kernel spreads them over workers
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
                statuses.append(http.get("/api/v1/system/status").status_code)
        assert statuses.count(200) in (1, 2)  # one token per worker: the limit is per worker
        assert set(statuses) == {200, 429}
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=30)
    assert child.returncode == 0


def test_the_served_app_is_out_of_the_collectors_walks() -> None:
    api = create_app(bootstrap(), rate=0)
    try:
        assert settled(api) is api
        assert gc.get_freeze_count() > 0
        assert all(found is not api for found in gc.get_objects())  # not in any generation
    finally:
        gc.unfreeze()  # this test process goes on collecting as before
