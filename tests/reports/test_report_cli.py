"""`lh report` end to end on a generated two-day session (rejections, cancels, partial fills,
a limit change and a kill switch): reproducible bytes in every format, the same after the read
model is rebuilt, publication refused when a read-model row disagrees with the log, one-line
errors for bad input, and the schedule reporting each closed day once."""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from typer.testing import CliRunner

from adapters.objectstore import open_object_store
from api.application.reporting.manifest import GENERATION_FIELDS
from api.cli import app
from infra.settings import load_settings
from projections.sql.models import FILLS
from tests.fixtures.session import record_session
from tests.fixtures.synthetic import SyntheticLog

SEED = 11
BARS = 1_500  # 2024-01-01 00:00 to 2024-01-02 01:00: a limit change and kill switch on day 1
DAY = ("--from", "2024-01-01", "--to", "2024-01-02")


def lh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic session's store and its SQL read model, built once per module."""
    folder = tmp_path_factory.mktemp("session")
    record_session(folder, seed=SEED, bars=BARS)
    return folder


@pytest.fixture
def var(session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's LH_VAR_DIR holding a copy of the session."""
    monkeypatch.setenv("COLUMNS", "200")
    var = tmp_path / "var"
    var.mkdir(exist_ok=True)
    for path in session.iterdir():
        shutil.copy(path, var / path.name)
    return var


def _published() -> list[str]:
    return list(open_object_store(load_settings().object_store).list("reports/"))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _report(kind: str, out: Path, *args: str) -> dict[str, object]:
    code, output = lh("report", kind, *DAY, "--out", str(out), "--json", *args)
    assert code == 0, output
    manifest: dict[str, object] = json.loads(output)
    return manifest


def _without_generation_fields(manifest: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in manifest.items() if k not in GENERATION_FIELDS}


@pytest.mark.parametrize(
    ("kind", "formats"),
    [
        ("trades", "html,pdf,csv,json"),
        ("compliance", "html,pdf,csv,json"),
        ("filing", "html,pdf,csv,json"),
    ],
)
def test_the_same_report_twice_gives_the_same_bytes(
    var: Path, tmp_path: Path, kind: str, formats: str
) -> None:
    first = _report(kind, tmp_path / "one", "--format", formats)
    second = _report(kind, tmp_path / "two", "--format", formats)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert {"report.html", "report.pdf", "report.json", "csv/figures.csv"} <= set(one)
    assert set(one) == set(two)
    for name in one:
        if name != "manifest.json":
            assert one[name] == two[name], name
    assert _without_generation_fields(first) == _without_generation_fields(second)
    assert first["chain_check"]["ok"] is True  # type: ignore[index]
    assert first["log"] == {"first_position": 1, "last_position": first["log"]["last_position"]}  # type: ignore[index]

    objects = open_object_store(load_settings().object_store)
    prefix = str(first["object_key_prefix"])
    assert prefix == f"reports/{kind}/all/20240101T000000Z_20240102T000000Z/all/"
    for entry in first["files"]:  # type: ignore[attr-defined]
        stored = objects.get(prefix + entry["name"])
        assert hashlib.sha256(stored).hexdigest() == entry["sha256"]
    assert json.loads(objects.get(prefix + "manifest.json")) == first  # published once


def test_a_rebuilt_read_model_gives_the_same_report(var: Path, tmp_path: Path) -> None:
    _report("trades", tmp_path / "before", "--format", "csv,json")
    code, output = lh("projections", "rebuild", "sql", "--yes")
    assert code == 0, output
    _report("trades", tmp_path / "after", "--format", "csv,json")
    before, after = _files(tmp_path / "before"), _files(tmp_path / "after")
    before.pop("manifest.json")
    after.pop("manifest.json")
    assert before == after


def test_a_read_model_row_that_disagrees_with_the_log_refuses_publication(
    var: Path, tmp_path: Path
) -> None:
    engine = create_engine(load_settings().sql_url)
    with engine.begin() as connection:
        position, strategy, fee = connection.execute(
            select(FILLS.c.position, FILLS.c.strategy, FILLS.c.fee)
            .order_by(FILLS.c.position)
            .limit(1)
        ).one()
        connection.execute(
            update(FILLS).where(FILLS.c.position == position).values(fee=fee + Decimal(1))
        )
    engine.dispose()
    out = tmp_path / "out"
    code, output = lh("report", "trades", *DAY, "--out", str(out))
    assert code == 1
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith("report not published: figure trades."), output
    assert f"trades.acct-1.{strategy}.fees" in output and "a replay of the log gives" in output
    assert _published() == []
    assert _files(out) == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("trades", "--from", "2024-01-02", "--to", "2024-01-01"), "is not before --to"),
        (("trades", *DAY, "--run", "no-such-run"), "unknown run 'no-such-run'"),
        (("ledger", *DAY), "unknown report kind 'ledger'"),
        (("trades", *DAY, "--format", "html,docx"), "unknown format docx"),
        (("trades", *DAY, "--run", "r", "--account", "a"), "--run or --account"),
        (("trades", "--from", "last tuesday", "--to", "2024-01-01"), "expected ISO 8601"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_publishes_nothing(
    var: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = lh("report", *args)
    assert code == 2
    assert len(output.strip().splitlines()) == 1 and message in output, output
    assert _published() == []


def test_the_thresholds_come_from_the_settings_file(
    var: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text(
        '[report.compliance]\nrestricted_symbols = ["ETHUSDT"]\nburst_messages = 0\n'
        "messages_per_day = 100\n"
    )
    monkeypatch.setenv("LH_CONFIG", str(config))
    _report("compliance", tmp_path / "out", "--format", "json")
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    figures = {f["name"]: f["value"] for s in document["sections"] for f in s["figures"]}
    assert int(figures["exceptions.restricted_symbol"]) > 0
    assert int(figures["exceptions.burst"]) > 0  # every second with a message is over 0
    notes = " ".join(note for s in document["sections"] for note in s["notes"])
    assert "Restricted symbols: ETHUSDT" in notes and "100 messages per day" in notes
    _report("filing", tmp_path / "filing", "--format", "json", "--max-per-day", "7")
    filing = (tmp_path / "filing" / "report.json").read_text()
    assert '"7"' in filing  # the option wins over the file


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("cancel_ratio = -1", "report.compliance.cancel_ratio"),
        ("burst = 3", "report.compliance.burst"),
        ('orders_per_second = "many"', "report.compliance.orders_per_second"),
        ("max_position = -2", "report.compliance.max_position"),
    ],
)
def test_a_bad_threshold_in_the_settings_file_is_one_line_exit_2(
    var: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text(f"[report.compliance]\n{table}\n")
    monkeypatch.setenv("LH_CONFIG", str(config))
    code, output = lh("report", "compliance", *DAY, "--format", "json")
    assert code == 2
    assert len(output.strip().splitlines()) == 1 and message in output, output
    monkeypatch.delenv("LH_CONFIG")
    assert _published() == []


def test_an_unwritable_out_directory_is_refused_before_any_work(var: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, output = lh("report", "trades", *DAY, "--out", str(blocker / "reports"))
    assert code == 2
    assert len(output.strip().splitlines()) == 1 and "--out" in output, output
    assert _published() == []


def test_a_run_report_covers_that_run_strategy_and_account(var: Path, tmp_path: Path) -> None:
    run = SyntheticLog(seed=SEED).run_id("momentum")
    manifest = _report("trades", tmp_path / "run", "--run", run, "--format", "json")
    assert manifest["object_key_prefix"] == (
        f"reports/trades/acct-1/20240101T000000Z_20240102T000000Z/run-{run}/"
    )
    document = json.loads((tmp_path / "run" / "report.json").read_text())
    strategies = {row[1] for row in document["sections"][0]["tables"][0]["rows"]}
    assert strategies == {"momentum"}


def test_the_schedule_reports_each_closed_day_once(var: Path) -> None:
    daily = ("report", "schedule", "daily", "--kind", "filing", "--format", "json")
    code, output = lh(*daily, "--json")
    assert code == 0, output
    periods = [m["object_key_prefix"] for m in json.loads(output)]
    assert periods == [
        "reports/filing/all/20240101T000000Z_20240102T000000Z/all/",
        "reports/filing/all/20240102T000000Z_20240103T000000Z/all/",
    ]
    code, output = lh(*daily)
    assert code == 0 and "nothing to do" in output, output


@pytest.mark.services
def test_a_mariadb_read_model_gives_the_same_report_as_sqlite(
    var: Path, tmp_path: Path, mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _report("trades", tmp_path / "sqlite", "--format", "csv,json")
    monkeypatch.setenv("LH_SQL_URL", mysql_url)  # built from the log by the command itself
    _report("trades", tmp_path / "mariadb", "--format", "csv,json")
    sqlite, mariadb = _files(tmp_path / "sqlite"), _files(tmp_path / "mariadb")
    sqlite.pop("manifest.json")
    mariadb.pop("manifest.json")
    assert sqlite == mariadb
