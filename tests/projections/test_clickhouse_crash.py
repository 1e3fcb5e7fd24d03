"""SIGKILL a real process in the middle of a large ClickHouse apply, restart, and check that
every fact is there exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from projections.clickhouse import ClickHouseProjection
from projections.clickhouse.rows import ROUTES
from projections.queries.state import fold
from tests.analytics.support import synthetic_events

BARS = 2_000  # about 28,000 events
BATCH = 10_000

# ``self-kill`` makes the child SIGKILL itself at the worst instant of its second apply: every
# fact row inserted, the checkpoint row not yet (the checkpoint is the only ``client.insert``).
CHILD = """
import os, signal, sys
from projections.clickhouse import ClickHouseProjection
from tests.analytics.support import chunks, synthetic_events

url, bars, size, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
events = synthetic_events(bars)
projection = ClickHouseProjection.open(url)
print("open", projection.checkpoint(), projection.recovered_rows, flush=True)
for number, batch in enumerate(chunks(events, size)):
    if batch[-1].position <= projection.checkpoint():
        continue
    print("begin", batch[0].position, flush=True)
    if mode == "self-kill" and number == 1:
        projection.client.insert = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    projection.apply(batch)
    print("done", projection.checkpoint(), flush=True)
projection.close()
print("finished", flush=True)
"""


def start_child(url: str, mode: str = "run") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(BARS), str(BATCH), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


@pytest.mark.crash
@pytest.mark.parametrize("mode", ["killed-by-parent", "self-kill"])
def test_sigkill_mid_apply_then_restart_projects_every_event_exactly_once(
    tmp_path: Path, mode: str
) -> None:
    url = f"chdb://{tmp_path / 'analytics'}"
    child = start_child(url, mode)
    assert child.stdout is not None
    lines: list[str] = []
    begins = 0
    for line in child.stdout:
        lines.append(line.strip())
        if line.startswith("begin"):
            begins += 1
            if begins == 2 and mode == "killed-by-parent":
                child.send_signal(signal.SIGKILL)
                break
    child.wait(60)
    assert child.returncode == -signal.SIGKILL
    assert lines[-1].startswith("begin"), f"the kill did not land inside apply: {lines}"

    restarted = start_child(url)
    output, _ = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, output
    opened = output.splitlines()[0].split()
    assert opened[:2] == ["open", str(BATCH)]  # the first batch's checkpoint survived the kill
    if mode == "self-kill":
        assert int(opened[2]) > 0  # the second batch's facts were there and were removed

    events = synthetic_events(BARS)
    projection = ClickHouseProjection.open(url)
    try:
        assert projection.checkpoint() == len(events)
        expected: dict[str, int] = {}
        for event in events:
            route = ROUTES.handler(event)
            if route:
                expected[route[0]] = expected.get(route[0], 0) + 1
        assert projection.row_counts() == expected
        raw = projection.client.query("SELECT count() FROM order_events").result_rows[0][0]
        assert raw == expected["order_events"]  # orphans were deleted, not just hidden by FINAL
        assert projection.mismatches(fold(events)) == []
    finally:
        projection.close()
