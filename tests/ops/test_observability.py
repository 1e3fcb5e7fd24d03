"""The metrics a process records: appends through the store hook, a session's trading metrics
read off its events, projection lag in events and seconds, their exposition, and JSON logs
that carry the session's ids and never a secret."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from api.cli import app
from domain.events.catalog import (
    KillSwitchEngaged,
    OrderIntent,
    PortfolioValued,
    RiskDecisionMade,
    RuleOutcome,
    VenueConnectionChanged,
)
from domain.events.types import OrderType, Side
from infra.eventstore.factory import open_event_store
from infra.observability.exposition import MetricsPortError, metrics_app, start_metrics_server
from infra.observability.logging import configure_logging, session_context
from infra.observability.projection_lag import ProjectionLag
from infra.observability.session import SessionMetrics
from tests.eventstore.events import venue_event


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_store_counts_appends_and_tells_observers_of_new_events_only(
    tmp_path: Path,
) -> None:
    store = open_event_store(f"sqlite:///{tmp_path / 'events.sqlite'}")
    seen: list[int] = []
    store.append_observers.append(lambda events: seen.append(len(events)))
    appended, batches = _sample("lh_events_appended_total"), _sample("lh_append_seconds_count")
    events = [venue_event("venue-sim", version) for version in (1, 2, 3)]
    store.append(events)
    store.append(events)  # already recorded: idempotent, not counted again
    assert _sample("lh_events_appended_total") == appended + 3
    assert _sample("lh_append_seconds_count") == batches + 1
    assert seen == [3]


def _decision(run: str, failed: str | None) -> RiskDecisionMade:
    intent = OrderIntent(
        client_order_id=f"c-{run}",
        account="acc",
        strategy="s",
        symbol="BTCUSDT",
        side=Side.BUY,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
    )
    rules = [
        RuleOutcome(rule=rule, passed=rule != failed, value="1", limit="1", detail="")
        for rule in ("max_position", "max_drawdown", "max_daily_loss")
    ]
    return RiskDecisionMade(
        decision_id=f"d-{run}", intent=intent, approved=failed is None, rules=rules, order_id=None
    )


def _valued(run: str, equity: str) -> PortfolioValued:
    money = Decimal(equity)
    return PortfolioValued(
        run_id=run,
        account="acc",
        strategy="s",
        cash=money,
        positions_value=Decimal(0),
        equity=money,
        realized_pnl=money - 100,
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
    )


def test_session_metrics_follow_rejections_limits_equity_and_drawdown() -> None:
    session = SessionMetrics("obs-unit")
    session.observe(_decision("obs-unit", "max_drawdown"))
    assert _sample("lh_order_rejections_total", run_id="obs-unit", rule="max_drawdown") == 1
    assert _sample("lh_risk_limit_breached", run_id="obs-unit", rule="max_drawdown") == 1
    assert _sample("lh_order_rejections_total", run_id="obs-unit", rule="max_position") == 0
    session.observe(_decision("obs-unit", None))
    assert _sample("lh_risk_limit_breached", run_id="obs-unit", rule="max_drawdown") == 0
    for equity in ("100", "125", "100"):
        session.observe(_valued("obs-unit", equity))
    assert _sample("lh_session_equity", run_id="obs-unit") == 100
    assert _sample("lh_session_pnl", run_id="obs-unit") == 0
    assert _sample("lh_session_drawdown_ratio", run_id="obs-unit") == pytest.approx(0.2)
    session.observe(KillSwitchEngaged(account="obs-acc", operator="o", reason="r"))
    assert _sample("lh_kill_switch_engaged", account="obs-acc") == 1
    session.observe(VenueConnectionChanged(venue="obs-venue", connected=False, reason="r"))
    assert _sample("lh_venue_connected", venue="obs-venue") == 0


def test_projection_lag_is_measured_against_the_head_at_scrape_time() -> None:
    now = [1000.0]
    heads = [10]
    lag = ProjectionLag(clock=lambda: now[0])
    lag.publish("unit", 10, 10)
    assert (lag.lag_events("unit"), lag.lag_seconds("unit")) == (0, 0.0)
    lag.follow_head(lambda: heads[0])
    heads[0] = 25  # appends the runner has not seen yet
    assert lag.lag_events("unit") == 15
    now[0] += 7
    assert lag.lag_seconds("unit") == 7.0

    def down() -> int:
        raise ConnectionError("store down")

    lag.follow_head(down)
    assert lag.lag_events("unit") == 15  # the last head known, not an error
    lag.publish("unit", 25, 25)
    assert lag.lag_seconds("unit") == 0.0


def test_metrics_are_served_over_http_and_asgi() -> None:
    port = start_metrics_server(0, addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "lh_events_appended_total" in text
    assert "process_resident_memory_bytes" in text
    with pytest.raises(MetricsPortError, match=str(port)):
        start_metrics_server(port, addr="127.0.0.1")
    answer = asyncio.run(_asgi_get("/"))
    assert answer.status_code == 200 and "lh_append_seconds_bucket" in answer.text


async def _asgi_get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=metrics_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await client.get(path)


def test_a_taken_metrics_port_is_one_line_and_exit_2() -> None:
    port = start_metrics_server(0, addr="0.0.0.0")
    result = CliRunner().invoke(
        app, ["paper", "--data", "x.csv", "--strategy", "sma_cross", "--metrics-port", str(port)]
    )
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and f"{port}" in result.output


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def test_json_logs_carry_the_session_ids_and_mask_secrets(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_url = "redis://:S3CRETlog@127.0.0.1:6379/0"
    configure_logging(json_lines=True, urls=[secret_url])
    with session_context("obs-run") as correlation_id:
        logging.getLogger("lh.test").info("cannot reach %s", secret_url)
        structlog.get_logger("lh.test").warning("seal retried", attempt=2)
    logging.getLogger("lh.test").info("after the session")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert "S3CRETlog" not in json.dumps(lines)
    first, second, third = lines
    assert first["run_id"] == second["run_id"] == "obs-run"
    assert first["correlation_id"] == second["correlation_id"] == correlation_id
    assert first["level"] == "info" and "127.0.0.1:6379" in first["event"]
    assert second["attempt"] == 2 and second["logger"] == "lh.test"
    assert "run_id" not in third
