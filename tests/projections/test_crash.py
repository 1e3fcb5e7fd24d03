"""Kill `lh projections run` with SIGKILL mid-run, restart it: nothing lost, nothing doubled.

The children are real processes writing real databases; the parent only reads checkpoints.
After three kills and a final clean run, the rows must equal a clean rebuild and the log state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from infra.eventstore.factory import open_event_store
from projections.queries.state import compute_log_state
from projections.runner import wait_until
from projections.sql.projection import SqlProjection
from tests.projections.support import apply_in_batches, build_log, dump, events_of

pytestmark = pytest.mark.crash

RUN = "from api.cli.projections import app; app(prog_name='lh projections')"  # `lh projections`


@pytest.fixture(scope="module")
def crash_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """About 28,000 events."""
    return build_log(tmp_path_factory.mktemp("crash") / "events.sqlite", 2_000, seed=11)


def _env(log: str, sql_url: str) -> dict[str, str]:
    return os.environ | {"LH_EVENT_STORE": log, "LH_SQL_URL": sql_url}


def _start(env: dict[str, str], log_file: Path, *args: str) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-c", RUN, "run", "--only", "sql", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_mid_run_then_restart_applies_every_event_once(
    sql_url: str, crash_log: str, tmp_path: Path
) -> None:
    store = open_event_store(crash_log)
    head = store.head()
    projection = SqlProjection.open(sql_url)  # the schema exists before the children start
    env = _env(crash_log, sql_url)
    output = tmp_path / "children.log"
    checkpoints = []
    for target in (head // 5, 2 * head // 5, 3 * head // 5):
        child = _start(env, output, "--batch-size", "150")

        def there(goal: int = target, running: subprocess.Popen[bytes] = child) -> bool:
            return projection.checkpoint() >= goal or running.poll() is not None

        reached = wait_until(there, 240, interval=0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        assert reached and child.returncode == -signal.SIGKILL, output.read_text()
        checkpoints.append(projection.checkpoint())
    assert checkpoints == sorted(checkpoints) and checkpoints[-1] < head  # killed mid-run

    finish = _start(env, output, "--batch-size", "1000")
    assert finish.wait(300) == 0, output.read_text()
    assert projection.checkpoint() == head
    assert projection.mismatches(compute_log_state(store)) == []

    reference = SqlProjection.open(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    apply_in_batches(reference, events_of(crash_log), 5_000)
    assert dump(projection) == dump(reference)
    reference.close()
    projection.close()
    store.close()


def test_sigterm_stops_a_following_runner_cleanly(
    sql_url: str, crash_log: str, tmp_path: Path
) -> None:
    store = open_event_store(crash_log)
    projection = SqlProjection.open(sql_url)
    output = tmp_path / "child.log"
    child = _start(_env(crash_log, sql_url), output, "--follow", "--batch-size", "5000")
    try:
        assert wait_until(lambda: projection.checkpoint() == store.head(), 240)
        assert child.poll() is None  # still following
        child.send_signal(signal.SIGTERM)
        assert child.wait(60) == 0, output.read_text()
    finally:
        if child.poll() is None:
            child.kill()
    assert projection.mismatches(compute_log_state(store)) == []
    projection.close()
    store.close()
