"""``lh console`` headless (Textual's pilot) against the real API: ``create_app`` with the
stream router, served by uvicorn on a free port over a recorded backtest and a paper run.
It shows positions, PnL, open orders and lag from REST, alerts pushed by /ws/alerts, and
engages a kill switch only after a confirmation with a reason, recorded as the key's owner."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Label
from typer.testing import CliRunner

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import App, bootstrap
from api.cli import app as lh
from api.console.app import ConsoleApp
from api.console.client import ApiClient
from api.console.killswitch import KillSwitchScreen
from domain.events.catalog import KillSwitchEngaged, StrategyRunStarted
from domain.events.envelope import Actor, NewEvent
from domain.events.streams import run_stream
from domain.events.types import ActorKind, RunMode
from tests.http.helpers import lh_ok, record_backtest
from tests.http.stream_support import api_with_streams, serving
from tests.services import free_port

PAPER_RUN = "paper-console"
OPERATOR = Actor(ActorKind.OPERATOR, "ops", "paper-acct")


def append(app: App, stream: str, payload: object, event_id: str) -> None:
    with app.event_store() as store:
        version = store.stream_version(stream) + 1
        store.append([NewEvent(stream, version, payload, event_id, 1_700_000_000_000_000,
                               OPERATOR, None, PAPER_RUN)])  # type: ignore[arg-type]  # fmt: skip


@dataclass
class Served:
    app: App
    url: str
    key: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    record_backtest(tmp_path)
    app = bootstrap()
    started = StrategyRunStarted(
        run_id=PAPER_RUN, strategy="sma_cross", params={}, symbols=["BTC"], mode=RunMode.PAPER,
        account="paper-acct", initial_cash=Decimal(10_000), config_hash="c" * 64,
    )  # fmt: skip
    append(app, run_stream(PAPER_RUN), started, f"{PAPER_RUN}:1")
    lh_ok("projections", "run", "--only", "sql")
    key = ApiKeyStore().create("olga", Role.TRADER)[1]
    with serving(api_with_streams(app)) as base:
        yield Served(app, base.replace("ws://", "http://"), key)


async def until(pilot: Pilot[None], done: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def column(console: ConsoleApp, table: str, index: int) -> list[str]:
    found: DataTable[str] = console.query_one(f"#{table}", DataTable)
    return [str(found.get_row_at(row)[index]) for row in range(found.row_count)]


def test_the_console_shows_the_api_and_engages_a_kill_switch_after_confirmation(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_KEY", "not-a-key")
    refused = CliRunner().invoke(lh, ["console", "--url", served.url, "--key-env", "OPS_KEY"])
    assert refused.exit_code == 1
    assert "refused the key" in refused.stderr

    console = ConsoleApp(ApiClient(served.url, served.key), refresh=1)
    asyncio.run(operate(console, served))
    assert console.sent[0]["run_id"] == PAPER_RUN
    assert console.sent[0]["operator"] == "olga"
    with served.app.event_store() as store:
        requests = [e for e in store.read_all() if e.event_type == "OperatorCommandRequested"]
    assert len(requests) == 1
    assert requests[0].data["command"] == "kill-switch-engage"
    assert requests[0].data["reason"] == "drill"
    assert requests[0].actor.name == "olga"


async def operate(console: ConsoleApp, served: Served) -> None:
    """Look at every table, receive an alert, cancel twice, then engage with a reason."""
    async with console.run_test(size=(180, 60)) as pilot:
        await until(pilot, lambda: console.snapshot is not None, "the first snapshot")
        assert set(column(console, "runs", 0)) == {"bt-api", PAPER_RUN}
        assert column(console, "positions", 2)  # the backtest's symbol
        # (The first health check may race the API's first read-model open: wait for it.)
        await until(pilot, lambda: "sql" in column(console, "lag", 0), "the read models' lag")
        summary = str(console.query_one("#summary").render())
        assert "olga (trader)" in summary

        # An alert recorded now is pushed by /ws/alerts.
        engaged = KillSwitchEngaged(account="paper-acct", operator="ops", reason="manual test")
        append(served.app, "account-paper-acct", engaged, "alert-1")
        await until(pilot, lambda: "KillSwitchEngaged" in column(console, "alerts", 2), "the alert")
        assert "manual test" in column(console, "alerts", 4)[-1]

        # k opens the confirmation; Escape sends nothing.
        await pilot.press("k")
        assert isinstance(console.screen, KillSwitchScreen)
        await pilot.press("escape")
        assert not isinstance(console.screen, KillSwitchScreen)

        # Without a reason nothing is sent either.
        await pilot.press("k")
        await pilot.press("enter")
        assert isinstance(console.screen, KillSwitchScreen)
        assert "reason" in str(console.screen.query_one("#problem", Label).render())

        await pilot.press(*"drill", "enter")
        await until(pilot, lambda: bool(console.sent), "the API's acceptance")


def test_lh_console_needs_a_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LH_API_KEY", raising=False)
    missing = CliRunner().invoke(lh, ["console"])
    assert missing.exit_code == 2
    assert "LH_API_KEY" in missing.stderr
    monkeypatch.setenv("OPS_KEY", "some-key")
    down = CliRunner().invoke(
        lh, ["console", "--url", f"http://127.0.0.1:{free_port()}", "--key-env", "OPS_KEY"]
    )
    assert down.exit_code == 1
    assert "cannot reach" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    assert "some-key" not in down.stderr
