"""Every bad input a user can make ends in ONE line on stderr naming the cause and the fix,
exit 2, through the real ``lh`` app — never a traceback, never silently accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.marketdata.sample import SAMPLE_CSV
from api.cli import app
from infra.eventstore.factory import open_event_store
from infra.settings import limit_names, load_settings
from tests.services import free_port

STORE_COMMANDS = [
    ["store", "info"],
    ["store", "tail"],
    ["audit", "hashes"],
    ["audit", "trace", "--order", "x"],
    ["archive", "status"],
    ["projections", "status"],
]


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    """The first 400 bars of the bundled sample (BTCUSDT and ETHUSDT)."""
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(SAMPLE_CSV.read_text().splitlines()[:801]) + "\n")
    return path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def one_line_exit_2(result: Result) -> str:
    """The single stderr line of a refused command (asserting there is exactly one)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def head() -> int:
    store = open_event_store(load_settings().event_store)
    try:
        return store.head()
    finally:
        store.close()


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_unreachable_redis_is_one_line_for_every_command_that_opens_the_store(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", f"redis://127.0.0.1:{free_port()}/0")
    line = one_line_exit_2(invoke(*command))
    assert "Redis is not reachable" in line and "LH_EVENT_STORE" in line


def test_unreachable_redis_stops_a_backtest_before_it_runs(
    monkeypatch: pytest.MonkeyPatch, bars: Path
) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", f"redis://127.0.0.1:{free_port()}/0")
    result = invoke("backtest", "--data", str(bars), "--strategy", "sma_cross")
    assert "Redis is not reachable" in one_line_exit_2(result)


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_sqlite_url_with_two_slashes_says_how_to_write_a_path(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", "sqlite://relative.sqlite")
    line = one_line_exit_2(invoke(*command))
    assert "sqlite:///relative.sqlite" in line and "LH_EVENT_STORE" in line


@pytest.mark.parametrize(
    ("variable", "command"),
    [("LH_EVENT_STORE", ["store", "info"]), ("LH_SQL_URL", ["projections", "status"])],
)
def test_sqlite_file_that_cannot_be_opened_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, command: list[str]
) -> None:
    monkeypatch.setenv(variable, f"sqlite:///{tmp_path}")  # a directory, not a file
    line = one_line_exit_2(invoke(*command))
    assert "SQLite cannot open" in line and variable in line and "writable" in line


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_var_dir_that_cannot_be_written_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    monkeypatch.setenv("LH_VAR_DIR", str(in_the_way / "var"))
    line = one_line_exit_2(invoke(*command))
    assert "LH_VAR_DIR" in line and str(in_the_way) in line


def test_read_only_var_dir_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LH_VAR_DIR", "/proc/lianghua-var")  # not writable, even for root
    line = one_line_exit_2(invoke("store", "info"))
    assert "LH_VAR_DIR" in line and "/proc/lianghua-var" in line


@pytest.mark.parametrize("command", [*STORE_COMMANDS, ["analytics", "run", "pnl_by_day"]])
def test_malformed_config_file_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text('event_store = "sqlite:///x.sqlite\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    line = one_line_exit_2(invoke(*command))
    assert str(config) in line and "not valid TOML" in line


def test_backtest_reads_the_config_file_like_every_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bars: Path
) -> None:
    """One reader: the [risk] table and the settings fail alike on the same bad file."""
    config = tmp_path / "lianghua.toml"
    config.write_text("[risk\n")
    monkeypatch.setenv("LH_CONFIG", str(config))
    backtest = one_line_exit_2(invoke("backtest", "--data", str(bars), "--strategy", "sma_cross"))
    info = one_line_exit_2(invoke("store", "info"))
    assert backtest == info and "not valid TOML" in info
    config.write_text("")
    assert head() == 0


def test_missing_config_file_named_by_lh_config_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LH_CONFIG", str(tmp_path / "lianhua.toml"))
    line = one_line_exit_2(invoke("store", "info"))
    assert "LH_CONFIG" in line and "no such file" in line


def test_unknown_config_key_is_named_and_lh_names_get_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "lianghua.toml"
    monkeypatch.setenv("LH_CONFIG", str(config))
    config.write_text('LH_EVENT_STORE = "redis://127.0.0.1:6379/0"\n')
    line = one_line_exit_2(invoke("store", "info"))
    assert "'LH_EVENT_STORE'" in line and "use event_store" in line
    config.write_text('evnet_store = "sqlite:///x.sqlite"\n')
    line = one_line_exit_2(invoke("store", "info"))
    assert "'evnet_store'" in line and "event_store" in line


def test_known_config_keys_still_apply(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "lianghua.toml"
    url = f"sqlite:///{tmp_path / 'configured.sqlite'}"
    config.write_text(f'event_store = "{url}"\n[risk]\nmax_position = "5"\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    result = invoke("store", "info")
    assert result.exit_code == 0, result.output
    assert url in result.stdout


def test_a_directory_as_data_is_named_as_a_directory(tmp_path: Path) -> None:
    line = one_line_exit_2(invoke("backtest", "--data", str(tmp_path), "--strategy", "sma_cross"))
    assert "is a directory" in line and "bar file" in line


def test_unknown_risk_limit_lists_the_valid_names(bars: Path) -> None:
    result = invoke("backtest", "--data", str(bars), "--strategy", "sma_cross", "--limit", "foo=1")
    line = one_line_exit_2(result)
    assert "'foo'" in line and all(name in line for name in limit_names())
    assert head() == 0


def test_unknown_risk_limit_in_the_config_file_lists_the_valid_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bars: Path
) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text("[risk]\nmax_bananas = 3\n")
    monkeypatch.setenv("LH_CONFIG", str(config))
    line = one_line_exit_2(invoke("backtest", "--data", str(bars), "--strategy", "sma_cross"))
    assert "'max_bananas'" in line and "max_order_notional" in line


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (["fast=5,abc"], "fast='abc' is not a valid int"),
        (["fast=5", "fast=10"], "--grid fast is given twice"),
        (["fast=5,5"], "lists 5 more than once"),
        (["fast=5,,10"], "empty value"),
        (["fast=0,5"], "below its minimum"),
        (["fats=5"], "no parameter fats"),
    ],
)
def test_optimize_refuses_a_bad_grid_before_running_anything(
    bars: Path, grid: list[str], expected: str
) -> None:
    grids = [part for item in grid for part in ("--grid", item)]
    result = invoke("optimize", "--data", str(bars), "--strategy", "sma_cross", *grids)
    assert expected in one_line_exit_2(result)
    assert head() == 0


def test_optimize_refuses_a_parameter_in_both_param_and_grid(bars: Path) -> None:
    result = invoke(
        "optimize", "--data", str(bars), "--strategy", "sma_cross",
        "--param", "fast=5", "--grid", "fast=5,10",
    )  # fmt: skip
    assert "both --param and --grid" in one_line_exit_2(result)


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--after", "-5"], "--after -5"), (["--limit", "-1"], "--limit -1"),
     (["--after", "-5", "--limit", "-1"], "--after -5"), (["--limit", "0"], "--limit 0")],
)  # fmt: skip
def test_store_tail_refuses_negative_positions_and_limits(args: list[str], expected: str) -> None:
    assert expected in one_line_exit_2(invoke("store", "tail", *args))


def test_sql_read_model_server_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_SQL_URL", f"mysql+pymysql://root:pw@127.0.0.1:{free_port()}/lh")
    line = one_line_exit_2(invoke("projections", "status", "--only", "sql"))
    assert "Can't connect to MySQL" in line and "pw@" not in line


def test_clickhouse_server_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_CLICKHOUSE_URL", f"http://default:pw@127.0.0.1:{free_port()}/lh")
    for command in (["analytics", "run", "pnl_by_day"], ["projections", "status"]):
        line = one_line_exit_2(invoke(*command))
        assert "LH_CLICKHOUSE_URL" in line and "pw@" not in line


def test_object_store_server_down_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_OBJECT_STORE", f"s3://AK:SK@127.0.0.1:{free_port()}/bucket")
    for command in (["archive", "status"], ["projections", "status", "--only", "objectstore"]):
        line = one_line_exit_2(invoke(*command))
        assert "cannot reach the S3 endpoint" in line and "SK@" not in line
