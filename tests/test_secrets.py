"""No secret is ever shown: every ``lh`` command, run with passwords in all four store URLs,
prints none of them (stdout, stderr, logs), whether the stores accept them or not."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from adapters.marketdata.sample import SAMPLE_CSV
from api.cli import app
from api.cli.common import masked_excepthook
from infra.secrets import redact_text, redact_url
from tests.services import REDIS_URL, S3Server, free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS_PW, MYSQL_PW, CLICKHOUSE_PW, S3_SECRET = "S3CRETpw", "S3CRETmy", "S3CRETch", "S3CRETsk"
SECRETS = (REDIS_PW, MYSQL_PW, CLICKHOUSE_PW, S3_SECRET)


def _commands() -> list[str]:
    """Every leaf command of ``lh`` ("store info", "backtest", ...), walked from the app."""

    def walk(command: object, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path)

    return list(walk(typer.main.get_command(app), ()))


_CTL = ("--run", "latest", "--operator", "o", "--reason", "r")
_VENUE_ENV = ("--api-key-env", "SWEEP_VENUE_KEY", "--secret-env", "SWEEP_VENUE_SECRET")
SWEEP_MASTER_KEY = "c3dlZXAtbWFzdGVyLWtleS0zMi1ieXRlcy1sb25nISE="  # a Fernet key (32 bytes)


def _arguments(data: Path, restore_to: str) -> dict[str, list[str]]:
    """Plausible arguments per command, in an order that leaves something for the next."""
    bars = ["--data", str(data), "--strategy", "sma_cross", "--symbol", "BTCUSDT"]
    return {
        "backtest": bars,
        "optimize": [*bars, "--grid", "fast=5,10", "--jobs", "1"],
        "paper": [*bars, "--speed", "0"],
        "store info": [],
        "store tail": ["--limit", "3"],
        "store durability": [],
        "archive seal": ["--final"],
        "archive verify": ["--against-store"],
        "archive status": [],
        "archive restore": ["--to", restore_to],
        "projections run": [],
        "projections status": [],
        "projections verify": [],
        "projections rebuild": ["all", "--yes"],
        "analytics list": [],
        "analytics run": ["pnl_by_day"],
        "analytics sql": ["SELECT run_id FROM runs"],
        "audit trace": ["--order", "nothing"],
        "audit state": ["--at", "2024-01-02T00:00:00"],
        "audit hashes": [],
        "report trades": ["--from", "2024-01-01", "--to", "2024-01-02", "--format", "json"],
        "report filing": ["--from", "2024-01-01", "--to", "2024-01-02", "--format", "html"],
        "report compliance": ["--from", "2024-01-01", "--to", "2024-01-02", "--format", "json"],
        "report schedule": ["daily", "--kind", "filing", "--format", "json"],
        "ctl kill-switch": ["engage", "--run", "latest", "--operator", "o", "--reason", "r"],
        "ctl state": ["HALTED", "--run", "latest", "--operator", "o", "--reason", "r"],
        "ctl limit": [
            "max_order_quantity=5",
            "--run",
            "latest",
            "--operator",
            "o",
            "--reason",
            "r",
        ],
        "ctl cancel": ["o-1", "--run", "latest", "--operator", "o", "--reason", "r"],
        "ctl status": ["--run", "latest"],
        "demo": [],
        "archive trim": [],
        "serve": ["--check"],  # without it, serves until interrupted
        "keys api create": ["--owner", "o", "--role", "viewer"],
        "keys api revoke": ["nothing"],
        "exchange serve": ["--port", "0", "--faults", "unknown=1"],  # ends at once (exit 2)
        "keys venue add": ["sweep", "--exchange", "binance", *_VENUE_ENV],
        "keys venue list": [],
        "keys venue rotate": ["sweep", *_VENUE_ENV],
        "keys venue remove": ["sweep"],
        "grafana provision": ["--url", "http://127.0.0.1:9", "--token-env", "LH_TEST_NO_TOKEN"],
        "live": [
            *("--venue", "binance", "--key", "sweep", "--strategy", "sma_cross"),
            *("--symbol", "BTC/USDT", "--timeframe", "5m", "--max-bars", "1"),
        ],
    }


def _run_everything(
    env: dict[str, str], cwd: Path, restore_to: str, *, in_process: bool = False
) -> dict[str, str]:
    """Run every command (those without plausible arguments bare) and collect its output:
    in fresh interpreters, or through ``CliRunner`` when no command can get far enough to
    open an embedded chDB (one per process)."""
    data = cwd / "bars.csv"
    data.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:801]) + "\n")
    plausible = _arguments(data, restore_to)
    missing = [name for name in _commands() if name not in plausible]
    outputs: dict[str, str] = {}
    for name, arguments in [*plausible.items(), *((name, []) for name in missing)]:
        if in_process:
            result = CliRunner().invoke(app, [*name.split(), *arguments], env=env)
            error = result.exception
            crashed = error is not None and not isinstance(error, SystemExit)
            trace = "".join(traceback.format_exception(error)) if crashed else ""
            outputs[name] = f"exit {result.exit_code}\n{result.output}\n{trace}"
            continue
        command = [sys.executable, "-m", "api", *name.split(), *arguments]
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        outputs[name] = f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return outputs


def _env(tmp_path: Path, prefix: str, **urls: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LH_")}
    env |= {f"LH_{name.upper()}": url for name, url in urls.items()}
    env |= {"PYTHONPATH": str(ROOT), "LH_VAR_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    env |= {"LH_REDIS_KEY_PREFIX": prefix, "LH_CONFIG": str(tmp_path / "empty.toml")}
    env |= {"LH_MASTER_KEY": SWEEP_MASTER_KEY, "SWEEP_VENUE_KEY": MYSQL_PW}
    env |= {"SWEEP_VENUE_SECRET": S3_SECRET}  # venue credentials: secrets of the sweep
    return env


def _one_line_exit_2(output: str) -> bool:
    status, _, text = output.partition("\n")
    return status == "exit 2" and len(text.strip().splitlines()) == 1


def _leaks(outputs: dict[str, str]) -> dict[str, list[str]]:
    return {
        name: [secret for secret in SECRETS if secret in output]
        for name, output in outputs.items()
        if any(secret in output for secret in SECRETS)
    }


@pytest.fixture
def mysql_user_url(mysql_url: str) -> Iterator[str]:
    """``mysql_url`` reached as a user of our own whose password is ``MYSQL_PW``."""
    import sqlalchemy

    user = f"lhsecret_{uuid.uuid4().hex[:8]}"
    database = mysql_url.rsplit("/", 1)[1]
    engine = sqlalchemy.create_engine(mysql_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE USER '{user}'@'%%' IDENTIFIED BY '{MYSQL_PW}'")
        connection.exec_driver_sql(f"GRANT ALL ON `{database}`.* TO '{user}'@'%%'")
    yield f"mysql+pymysql://{user}:{MYSQL_PW}@127.0.0.1:3306/{database}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'%%'")
    engine.dispose()


@pytest.mark.timeout(1800)  # every lh command in a fresh interpreter: minutes on 2 cores
def test_no_command_shows_a_secret_when_the_stores_take_the_passwords(
    tmp_path: Path, redis_prefix: str, mysql_user_url: str, s3: S3Server
) -> None:
    redis = REDIS_URL.replace("redis://", f"redis://:{REDIS_PW}@")
    env = _env(
        tmp_path,
        redis_prefix,
        event_store=redis,
        sql_url=mysql_user_url,
        clickhouse_url=f"chdb://{tmp_path / 'analytics'}",
        object_store=f"s3://AK:{S3_SECRET}@{s3.endpoint}/lh-{uuid.uuid4().hex[:12]}",
    )
    restore_to = f"sqlite:///{tmp_path / 'restored.sqlite'}"
    (tmp_path / "empty.toml").write_text("")
    outputs = _run_everything(env, tmp_path, restore_to)
    assert _leaks(outputs) == {}
    assert outputs["store info"].startswith("exit 0"), outputs["store info"]
    assert "redis://:***@" in outputs["store info"]
    assert "exit 0" in outputs["backtest"] and "redis://:***@" in outputs["backtest"]
    assert "exit 0" in outputs["demo"], outputs["demo"]
    for shown in ("redis://:***@", ":***@127.0.0.1:3306", f"s3://AK:***@{s3.endpoint}"):
        assert shown in outputs["demo"]


def test_no_command_shows_a_secret_when_the_stores_refuse_or_are_down(
    tmp_path: Path, redis_prefix: str
) -> None:
    down = free_port()
    env = _env(
        tmp_path,
        redis_prefix,
        event_store=f"redis://:{REDIS_PW}@127.0.0.1:{down}/0",
        sql_url=f"mysql+pymysql://root:{MYSQL_PW}@127.0.0.1:3306/lianghua",
        clickhouse_url=f"http://default:{CLICKHOUSE_PW}@127.0.0.1:{down}/lianghua",
        object_store=f"s3://AK:{S3_SECRET}@127.0.0.1:{down}/bucket",
    )
    (tmp_path / "empty.toml").write_text("")
    restore_to = f"redis://:{REDIS_PW}@127.0.0.1:{down}/1"
    outputs = _run_everything(env, tmp_path, restore_to, in_process=True)
    assert _leaks(outputs) == {}
    tracebacks = sorted(name for name, output in outputs.items() if "Traceback" in output)
    assert tracebacks == []
    failed = {name: output for name, output in outputs.items() if not output.startswith("exit 0")}
    assert "store info" in failed and "analytics run" in failed and "archive status" in failed
    del failed["demo"]  # prints what it is about to use before it fails
    assert {name: out for name, out in failed.items() if not _one_line_exit_2(out)} == {}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://user:pw@host/0", "redis://user:***@host/0"),
        ("mysql+pymysql://root:p%40ss@db:3306/x", "mysql+pymysql://root:***@db:3306/x"),
        ("s3://AK:SK/x@h:9000/b?secure=false", "s3://AK:***@h:9000/b?secure=false"),
        ("http://ch:8123/db?password=pw&x=1", "http://ch:8123/db?password=***&x=1"),
        ("sqlite:////var/lh/events.sqlite", "sqlite:////var/lh/events.sqlite"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_redact_url_masks_passwords_and_secret_keys(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_urls_and_known_secrets_in_driver_messages() -> None:
    message = "Error connecting to redis://:hunter22@db:6379/0; AUTH hunter22 failed"
    assert (
        redact_text(message) == "Error connecting to redis://:***@db:6379/0; AUTH hunter22 failed"
    )
    masked = redact_text(message, ["redis://:hunter22@db:6379/0"])
    assert "hunter22" not in masked and masked.endswith("AUTH *** failed")


def test_a_bugs_traceback_is_masked_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", f"redis://:{REDIS_PW}@127.0.0.1:6379/0")
    try:
        raise RuntimeError(f"unexpected: AUTH {REDIS_PW} at redis://:{REDIS_PW}@db/0")
    except RuntimeError as error:
        masked_excepthook(RuntimeError, error, error.__traceback__)
    shown = capsys.readouterr().err
    assert "Traceback" in shown and "RuntimeError: unexpected: AUTH ***" in shown
    assert REDIS_PW not in shown


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("LH_EVENT_STORE", f"redis://:{REDIS_PW}@127.0.0.1:99999/0"),
        ("LH_EVENT_STORE", f"postgres://lh:{REDIS_PW}@db/events"),
        ("LH_SQL_URL", f"mysql://root:{MYSQL_PW}@db/lianghua"),
        ("LH_CLICKHOUSE_URL", f"tcp://default:{CLICKHOUSE_PW}@ch:9000"),
        ("LH_OBJECT_STORE", f"s3://AK:{S3_SECRET}@minio:9000"),
    ],
)
def test_a_malformed_url_is_named_with_its_secret_masked(
    monkeypatch: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    monkeypatch.setenv(variable, url)
    result = CliRunner().invoke(app, ["store", "info"])
    assert result.exit_code == 2
    assert variable in result.stderr and ":***@" in result.stderr
    assert not any(secret in result.output for secret in SECRETS)
