"""``lh backtest`` ends its own process once the result is printed (``exit_done``): the exit
code, the whole JSON and every event in the store must be as a normal exit leaves them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from api.application.backtest import WRITER_MIN_BAR_TIMES
from infra.eventstore.factory import open_event_store
from tests.trading.helpers import wave_bars, write_bars_csv


def test_a_backtest_through_the_writer_exits_zero_with_all_its_events_recorded(
    tmp_path: Path,
) -> None:
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(WRITER_MIN_BAR_TIMES))
    args = ["backtest", "--data", str(data), "--strategy", "sma_cross", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "api", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # the whole object: stdout was flushed before the exit
    assert result["trades"]
    assert (result["first_position"], result["last_position"]) == (1, result["events"])
    store = open_event_store(f"sqlite:///{Path(os.environ['LH_VAR_DIR']) / 'events.sqlite'}")
    recorded = list(store.read_all(verify=True))
    assert [r.position for r in recorded] == list(range(1, result["events"] + 1))
    store.close()


def test_lh_under_a_test_runner_returns_instead_of_exiting(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(200))
    args = ["backtest", "--data", str(data), "--strategy", "sma_cross", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"] > 0
