"""``lh`` imports a command's module only when that command is used: ``lh --help`` and the
completion of command names read the registry's summaries, which must be the commands' own
help, and a backtest loads none of the API server, read-model drivers, exchange client,
terminal UI or PDF engine that other commands need."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from api.cli import COMMANDS, app
from api.cli.lazy import LazyCommand
from tests.trading.helpers import wave_bars, write_bars_csv

HEAVY = {
    "fastapi", "uvicorn", "sqlalchemy", "alembic", "ccxt", "textual", "weasyprint",
    "clickhouse_connect", "chdb", "grafana_client", "minio",
}  # fmt: skip
ALWAYS = {"api.cli", "api.cli.common", "api.cli.failures", "api.cli.lazy"}

PROBE = """
import atexit, json, sys
from api.cli import main
report = sys.argv[2]
sys.argv = ["lh", *json.loads(sys.argv[1])]
code = 0  # a backtest ends the process itself once done (exit functions still run)

def write_report():
    with open(report, "w") as out:
        json.dump({"code": code, "modules": sorted(sys.modules)}, out)

atexit.register(write_report)
try:
    main()
except SystemExit as stop:
    code = stop.code
"""


def run_lh(tmp_path: Path, *args: str, **env: str) -> tuple[Any, set[str], str]:
    """Run ``lh args`` in a fresh interpreter: its exit code, the modules it imported, stdout."""
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), str(report)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"]), done.stdout


def heavy(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & HEAVY


def commands_of(modules: set[str]) -> set[str]:
    return {name for name in modules if name.startswith("api.cli")} - ALWAYS


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_each_summary_is_the_first_paragraph_of_the_commands_own_help(entry: LazyCommand) -> None:
    command = entry.load()
    assert command.name == entry.name
    assert entry.summary == inspect.cleandoc(command.help or "").split("\n\n")[0]


def test_every_command_a_register_function_adds_is_registered() -> None:
    registered = {entry.name for entry in COMMANDS}
    for target in {entry.target for entry in COMMANDS if entry.target.endswith(":register")}:
        parent = typer.Typer()
        module, _, function = target.partition(":")
        getattr(import_module(module), function)(parent)
        added = {c.name for c in parent.registered_commands}
        added |= {g.name for g in parent.registered_groups}
        assert added <= registered, (target, added - registered)


def test_lh_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    code, modules, shown = run_lh(tmp_path, "--help")
    assert code == 0
    assert commands_of(modules) == set()
    assert heavy(modules) == set()
    for entry in COMMANDS:
        assert entry.name in shown


def test_a_backtest_imports_its_own_command_and_no_heavy_dependency(tmp_path: Path) -> None:
    data = write_bars_csv(tmp_path / "bars.csv", wave_bars(300))
    args = ("backtest", "--data", str(data), "--strategy", "sma_cross", "--json")
    code, modules, shown = run_lh(tmp_path, *args)
    assert code == 0
    assert json.loads(shown)["events"] > 0
    assert commands_of(modules) == {"api.cli.trading", "api.cli.observability"}
    assert {"redis", "structlog"} & {name.split(".")[0] for name in modules} == set()
    assert heavy(modules) == set()


def test_a_commands_help_imports_that_command_only(tmp_path: Path) -> None:
    code, modules, shown = run_lh(tmp_path, "keys", "venue", "--help")
    assert code == 0
    assert "rotate" in shown
    assert commands_of(modules) == {"api.cli.keys", "api.cli.keys_venue"}


def test_completing_a_command_name_shows_its_summary_without_importing_it(
    tmp_path: Path,
) -> None:
    completion = {"_LH_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "lh ba"}
    code, modules, shown = run_lh(tmp_path, **completion)
    assert code == 0
    assert '"backtest":"Backtest a strategy on a bar file and..."' in shown
    assert commands_of(modules) == set()


def test_completing_an_option_imports_its_command(tmp_path: Path) -> None:
    completion = {"_LH_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "lh backtest --da"}
    code, modules, shown = run_lh(tmp_path, **completion)
    assert code == 0
    assert '"--data":"Bar file (CSV or Parquet)."' in shown
    assert "api.cli.trading" in modules


def test_a_mistyped_command_is_refused_with_a_suggestion() -> None:
    result = CliRunner().invoke(app, ["bactest"])
    assert result.exit_code == 2
    assert "No such command 'bactest'. Did you mean 'backtest'?" in result.output
