"""Every command quoted in README.md and docs/ runs as shown, so the docs cannot drift.

The shell commands of each ```bash block of README.md and docs/**/*.md are run in document
order, one document at a time, each in a fresh temp dir on embedded defaults (a temp
``LH_VAR_DIR``, no config file, the bundled sample bars shortened), through ``bash`` and the
installed ``lh``. A command must exit 0, print no traceback, and with ``--json`` print only
JSON.

To keep the docs honest and the harness easy to maintain:
- a command that cannot run here is listed in ``NOT_RUN`` under its exact text (as the docs
  show it, without its trailing comment), with the reason;
- ``[--option value]`` in a command is optional: it runs once without and once with it;
- ``PLACEHOLDERS`` (``FILL_ID``) are filled from the log the document's commands recorded;
- hosts the docs name by example: ``redis://new-host:6379/0`` is this machine's Redis (with a
  fresh key prefix for the whole document) and the old store of a restore
  (``redis://old-host:6379/0``) is the document's own embedded store;
- ``FULL_FORM_ONLY`` commands run only with their optional parts;
- ``SETUP`` commands run first for documents that use a store without filling one;
- a ```python block preceded by ``<!-- file: NAME ... -->`` is saved as NAME first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from itertools import islice
from pathlib import Path

import pytest

from tests.services import REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "adapters/marketdata/sample/SYNTHETIC_btc_eth_5m.csv"
SAMPLE_ROWS = 2_000  # 1,000 five-minute bars of each of its two symbols
GENERATED = {"docs/cli.md"}  # typer's usage lines, checked by tests/test_cli_reference.py

NOT_RUN: dict[str, str] = {
    "lh exchange serve --port 8765 --speed 600": "serves until interrupted (tests/live)",
    "lh keys venue add local --exchange binance --api-key-env EX_KEY --secret-env EX_SECRET": (
        "needs the reader's own master key; tests/live/test_venue_keys.py runs it"
    ),
    "lh live --venue binance --key local --venue-url http://127.0.0.1:8765 --strategy sma_cross "
    "--param fast=2 --param slow=3 --symbol BTC/USDT --timeframe 5m --max-bars 6 --limit "
    "max_order_notional=100000 --limit max_position=1 --limit max_daily_loss=1000": (
        "needs a running local exchange and a stored key; tests/live/test_live_exchange.py"
    ),
    "lh grafana provision --url http://grafana:3000 --token-env LH_GRAFANA_TOKEN --prometheus-url "
    "http://prometheus:9090 --clickhouse-url http://default:PASSWORD@clickhouse:8123/lianghua": (
        "needs a Grafana server; tests/ops/test_grafana.py runs it against a stand-in"
    ),
    "lh grafana provision --url http://grafana:3000 --token-env LH_GRAFANA_TOKEN --dry-run": (
        "needs the token variable set; tests/ops/test_grafana.py runs --dry-run"
    ),
    "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/lh demo": (
        "creates a virtualenv and installs from the network; lh demo: tests/test_demo.py"
    ),
    "bash ops/test.sh": "runs the whole suite, this test included",
    f"lh paper --data {SAMPLE} --strategy momentum --speed 60": (
        "replays five-minute bars on the wall clock at 60x, 5 s a bar: hours even here"
    ),
    "lh projections run --follow": "follows the log until interrupted",
    "lh serve --port 8000": "serves until interrupted; tests/http/ runs it over real HTTP",
    "lh console --url http://127.0.0.1:8000": (
        "an interactive terminal UI over a running lh serve; tests/console/test_console.py"
    ),
    'websocat -H "Authorization: Bearer $LH_API_KEY" "ws://127.0.0.1:8000/ws/alerts?after=0"': (
        "websocat is not installed here and needs a running lh serve; the same streams are "
        "tested over uvicorn with the websockets client (tests/http/test_streams_live.py)"
    ),
    'websocat "ws://127.0.0.1:8000/ws/events?key=$LH_API_KEY&after=1800" | jq -r '
    "'[.position, .type] | @tsv'": "websocat is not installed here (as above)",
    "lh exchange serve --port 8765 --speed 60": (
        "serves until interrupted; tests/live/test_exchange_cli.py runs it as a subprocess"
    ),
    'lh exchange serve --port 8765 --speed 60 --faults "latency=50ms,http429=0.05,'
    "http5xx=0.05,drop=0.02,lost_response=0.05,duplicate_fills=0.1,reorder_fills=0.1,"
    'restart_lose_open=at:30s,seed=7"': "serves until interrupted; each fault: tests/live",
    "lh keys venue add main --exchange binance --api-key-env BINANCE_API_KEY "
    "--secret-env BINANCE_SECRET": "needs a real exchange key in the environment",
}

# A restore refuses a target that is not empty: one form per target store.
FULL_FORM_ONLY = {
    "lh archive restore --to redis://new-host:6379/0 [--tail-from redis://old-host:6379/0]",
}

# Documents that read a store without recording one: a run, its read models and seals first.
SETUP: dict[str, list[str]] = {
    doc: [
        f"lh backtest --data {SAMPLE} --strategy sma_cross",
        "lh projections run",
        "lh archive seal --segment-size 1000",
    ]
    for doc in ("docs/runbooks/audit.md", "docs/runbooks/recovery.md")
}

PLACEHOLDERS = ("FILL_ID",)
NEW_REDIS = "redis://new-host:6379/0"
OLD_STORE = "redis://old-host:6379/0"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
FILE_MARK = re.compile(r"<!-- file: (\S+)[^>]*-->\s*\n```python\n(.*?)^```", re.S | re.M)
OPTIONAL = re.compile(r"\s*\[([^\[\]]+)\]")


def documents() -> list[str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [
        p.relative_to(ROOT).as_posix()
        for p in paths
        if p.relative_to(ROOT).as_posix() not in GENERATED
    ]


def commands(doc: str) -> list[str]:
    """The commands of the document's bash blocks, in order, without trailing comments."""
    found = []
    for language, body in FENCE.findall((ROOT / doc).read_text()):
        if language != "bash":
            continue
        for line in body.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                found.append(command)
    return found


def variants(command: str) -> list[str]:
    """``a [b]`` -> ``a`` and ``a b``: optional parts shown in brackets run both ways."""
    if not OPTIONAL.search(command):
        return [command]
    bare = OPTIONAL.sub("", command)
    full = OPTIONAL.sub(lambda m: " " + m.group(1), command)
    return [bare, full]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A temp dir that sees the repository's folders (examples/, ...) but none of its state (no
    ./var, no lianghua.toml), with the sample bars cut to their first ``SAMPLE_ROWS`` rows at
    the same path: the commands run as written, on data small enough to keep this test quick."""
    work = tmp_path / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name.startswith(".") or entry.name in ("var", "lianghua.toml", "adapters"):
            continue
        (work / entry.name).symlink_to(entry)
    sample = work / SAMPLE
    sample.parent.mkdir(parents=True)
    with (ROOT / SAMPLE).open() as source:
        sample.write_text("".join(islice(source, SAMPLE_ROWS + 1)))
    return work


def environment(var: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LH_")}
    bin_dir = Path(sys.executable).parent
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        LH_VAR_DIR=str(var),
        COLUMNS="200",
    )
    return env


def run(command: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    shown = f"$ {command}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n{result.stderr[-2000:]}"
    assert result.returncode == 0, f"exit {result.returncode}\n{shown}"
    assert "Traceback" not in result.stderr + result.stdout, shown
    if "--json" in command.split():
        _check_json(result.stdout, shown)
    return result.stdout


def _check_json(stdout: str, shown: str) -> None:
    """One JSON document, or one per line (``lh store tail --json``)."""
    try:
        json.loads(stdout)
    except json.JSONDecodeError:
        for line in filter(None, stdout.splitlines()):
            try:
                json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"--json printed something else than JSON\n{shown}") from None


def fill_id(cwd: Path, env: dict[str, str]) -> str:
    for line in run("lh store tail --json --limit 1000", cwd, env).splitlines():
        event = json.loads(line)
        if event["type"] == "FillRecorded":
            return str(event["payload"]["fill_id"])
    raise AssertionError("no FillRecorded in the first 1000 events to fill FILL_ID with")


def documents_with_commands() -> list[object]:
    """One case per document; those that restore into Redis need the services."""
    return [
        pytest.param(
            doc, marks=[pytest.mark.services] if NEW_REDIS in (ROOT / doc).read_text() else []
        )
        for doc in documents()
        if commands(doc)
    ]


@pytest.mark.parametrize("doc", documents_with_commands())
def test_every_command_of_the_document_runs_as_shown(
    doc: str, workdir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    var = tmp_path / "var"
    env = environment(var)
    text = (ROOT / doc).read_text()
    hosts = {OLD_STORE: f"sqlite:///{var}/events.sqlite"}
    if NEW_REDIS in text:
        env["LH_REDIS_KEY_PREFIX"] = request.getfixturevalue("redis_prefix")
        hosts[NEW_REDIS] = REDIS_URL
    for name, source in FILE_MARK.findall(text):
        (workdir / name).write_text(source)
    for command in SETUP.get(doc, []):
        run(command, workdir, env)
    values: dict[str, str] = {}
    for command in commands(doc):
        if command in NOT_RUN:
            continue
        forms = variants(command)[-1:] if command in FULL_FORM_ONLY else variants(command)
        for form in forms:
            filled = form
            for host, url in hosts.items():
                filled = filled.replace(host, url)
            for placeholder in PLACEHOLDERS:
                if placeholder in filled:
                    if placeholder not in values:
                        values[placeholder] = fill_id(workdir, env)
                    filled = filled.replace(placeholder, values[placeholder])
            run(filled, workdir, env)


def test_not_run_lists_only_commands_the_docs_still_show() -> None:
    shown = {command for doc in documents() for command in commands(doc)}
    stale = sorted((set(NOT_RUN) | FULL_FORM_ONLY) - shown)
    assert not stale, f"remove from NOT_RUN / FULL_FORM_ONLY (no longer in the docs): {stale}"


def test_every_block_with_lh_commands_is_a_bash_block() -> None:
    """A command in a block of another language would silently escape this test."""
    untagged = [
        f"{doc}: {body.splitlines()[0]}"
        for doc in documents()
        for language, body in FENCE.findall((ROOT / doc).read_text())
        if language != "bash"
        and any(re.match(r"(\w+=\S+\s+)*lh\s", line.strip()) for line in body.splitlines())
    ]
    assert not untagged, f"tag these blocks ```bash: {untagged}"
