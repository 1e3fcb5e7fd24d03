"""The dashboards as code: valid against the (vendored, minimal) dashboard schema, laid out on
Grafana's grid, every query aimed at a provisioned datasource, the ClickHouse SQL run for real
on chDB, the committed JSON current; provisioning against a Grafana stand-in is idempotent."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from grafana_client.api import GrafanaApi
from typer.testing import CliRunner

from api.cli import app
from infra.observability.grafana.dashboards import CLICKHOUSE_QUERIES, dashboards
from infra.observability.grafana.provision import Targets, datasources, provision
from projections.clickhouse.projection import ClickHouseProjection
from tests.analytics.support import chunks, synthetic_events
from tests.ops.grafana_standin import Grafana, grafana_standin
from tests.ops.support import OPS

SCHEMA = json.loads((OPS / "schemas" / "grafana-dashboard.minimal.schema.json").read_text())
BUILT = dashboards()


@pytest.mark.parametrize("dashboard", BUILT, ids=lambda d: str(d["uid"]))
def test_dashboard_is_valid_against_the_schema(dashboard: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(dashboard), key=lambda e: e.path
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_catches_a_broken_dashboard() -> None:
    broken = json.loads(json.dumps(BUILT[0]))
    broken["panels"][0]["gridPos"]["w"] = 30
    del broken["panels"][1]["targets"]
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(broken))
    assert len(errors) == 2


@pytest.mark.parametrize("dashboard", BUILT, ids=lambda d: str(d["uid"]))
def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_every_query_uses_a_provisioned_datasource() -> None:
    provisioned = {(s["type"], s["uid"]) for s in datasources(Targets())}
    files = yaml.safe_load(
        (OPS / "grafana" / "provisioning" / "datasources" / "lianghua.yaml").read_text()
    )
    assert {(s["type"], s["uid"]) for s in files["datasources"]} == provisioned
    for dashboard in BUILT:
        for panel in dashboard["panels"]:
            used = {(t["datasource"]["type"], t["datasource"]["uid"]) for t in panel["targets"]}
            assert used == {(panel["datasource"]["type"], panel["datasource"]["uid"])}
            assert used <= provisioned


def test_committed_dashboard_files_are_current() -> None:
    """Run `python ops/grafana/generate.py` after changing a dashboard."""
    folder = OPS / "grafana" / "dashboards"
    committed = {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}
    assert committed == {dashboard["uid"]: dashboard for dashboard in BUILT}


@pytest.fixture
def analytics(tmp_path: Path) -> Iterator[ClickHouseProjection]:
    projection = ClickHouseProjection.open(f"chdb://{tmp_path / 'analytics'}")
    for batch in chunks(synthetic_events(300), 1_000):
        projection.apply(batch)
    yield projection
    projection.close()


def test_trading_overview_sql_runs_on_the_clickhouse_read_model(
    analytics: ClickHouseProjection,
) -> None:
    """Grafana's $__timeFilter(column) macro replaced by the range it expands to."""
    rows = {}
    for query in CLICKHOUSE_QUERIES:
        sql = re.sub(
            r"\$__timeFilter\((\w+)\)",
            r"\1 BETWEEN toDateTime64('2000-01-01', 6, 'UTC') "
            r"AND toDateTime64('2100-01-01', 6, 'UTC')",
            query.sql,
        )
        assert "$" not in sql
        rows[query.sql.split("FROM ")[1].split()[0]] = analytics.client.query(sql).result_rows
    assert rows["portfolio_values"] and rows["fills"] and rows["runs"] and rows["order_lifecycle"]


def _api(grafana: Grafana) -> GrafanaApi:
    return GrafanaApi.from_url(grafana.url, credential="t0ken")


def test_provisioning_creates_everything_then_changes_nothing() -> None:
    with grafana_standin() as grafana:
        first = provision(_api(grafana), Targets())
        assert set(first.actions.values()) == {"created"}
        assert sorted(grafana.writes()) == [
            ("POST", "/api/dashboards/db"),
            ("POST", "/api/dashboards/db"),
            ("POST", "/api/datasources"),
            ("POST", "/api/datasources"),
            ("POST", "/api/folders"),
        ]
        assert {call.authorization for call in grafana.calls} == {"Bearer t0ken"}
        assert set(grafana.dashboards) == {"lh-system-health", "lh-trading-overview"}
        assert set(grafana.datasources) == {"lh-prometheus", "lh-clickhouse"}
        saved = grafana.dashboards["lh-system-health"]
        assert saved["meta"]["folderUid"] == "lianghua"

        grafana.calls.clear()
        second = provision(_api(grafana), Targets())
        assert set(second.actions.values()) == {"unchanged"} and not second.changed
        assert grafana.writes() == []


def test_provisioning_repairs_drift_and_always_rewrites_a_password() -> None:
    targets = Targets(clickhouse_password="S3CRETgf")
    with grafana_standin() as grafana:
        provision(_api(grafana), targets)
        grafana.dashboards["lh-trading-overview"]["dashboard"]["title"] = "edited in the UI"
        grafana.calls.clear()
        report = provision(_api(grafana), targets)
        assert report.actions["dashboard lh-trading-overview"] == "updated"
        assert report.actions["datasource lh-clickhouse"] == "updated"
        assert report.actions["datasource lh-prometheus"] == "unchanged"
        assert sorted(grafana.writes()) == [
            ("POST", "/api/dashboards/db"),
            ("PUT", "/api/datasources/uid/lh-clickhouse"),
        ]
        restored = grafana.dashboards["lh-trading-overview"]["dashboard"]
        assert restored["title"] == "LiangHua / Trading overview" and restored["version"] == 2
        assert grafana.datasources["lh-clickhouse"]["secureJsonData"] == {"password": "S3CRETgf"}


def test_lh_grafana_provision(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    clickhouse = "--clickhouse-url=http://reader:S3CRETgf@clickhouse:8123/lianghua"
    with grafana_standin() as grafana:
        monkeypatch.setenv("LH_GRAFANA_TOKEN", "t0ken")
        command = ["grafana", "provision", "--url", grafana.url, "--token-env", "LH_GRAFANA_TOKEN"]
        first = runner.invoke(app, [*command, clickhouse])
        assert first.exit_code == 0, first.output
        assert "created" in first.output and "S3CRETgf" not in first.output
        assert grafana.datasources["lh-clickhouse"]["jsonData"]["username"] == "reader"
        again = runner.invoke(
            app, [*command, "--clickhouse-url=http://reader:@clickhouse:8123/lianghua"]
        )
        assert again.exit_code == 0 and "already up to date" in again.output, again.output
        calls = len(grafana.calls)
        dry = runner.invoke(app, [*command, clickhouse, "--dry-run"])
        assert dry.exit_code == 0 and len(grafana.calls) == calls  # nothing sent
        shown = json.loads(dry.output)
        assert shown["datasources"][1]["secureJsonData"] == {"password": "***"}
        assert [d["uid"] for d in shown["dashboards"]] == [
            "lh-system-health",
            "lh-trading-overview",
        ]
        monkeypatch.delenv("LH_GRAFANA_TOKEN")
        missing = runner.invoke(app, [*command, clickhouse])
        assert missing.exit_code == 2
        assert missing.output.strip().splitlines() == [
            "LH_GRAFANA_TOKEN is empty or not set: it must hold the Grafana API token"
        ]
