"""`lh limits list` and `lh strategies list` show what the code validates, and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from api.cli.catalogs import limit_rows
from domain.risk import RiskLimits
from domain.strategy.params import validate_params
from domain.strategy.registry import registered
from infra.settings import load_settings

runner = CliRunner()


def test_limits_list_json_names_every_limit_with_its_meaning_and_default() -> None:
    result = runner.invoke(app, ["limits", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["limits"]
    assert [row["name"] for row in rows] == list(RiskLimits.model_fields)
    undescribed = [row["name"] for row in rows if not row["meaning"]]
    assert not undescribed, f"give these RiskLimits fields a description: {undescribed}"
    defaults = RiskLimits()
    assert {row["name"]: row["default"] for row in rows} == {
        name: defaults.value_text(name) for name in RiskLimits.model_fields
    }
    by_name = {row["name"]: row for row in rows}
    assert by_name["max_drawdown"]["bounds"] == "> 0, <= 1"
    assert by_name["max_drawdown"]["default"] == "none"


def test_every_listed_default_is_accepted_back_by_limit() -> None:
    rows = json.loads(runner.invoke(app, ["limits", "list", "--json"]).output)["limits"]
    given = {row["name"]: row["default"] for row in rows}
    assert load_settings().risk_limits(given) == RiskLimits()


def test_limits_list_table_shows_each_limit() -> None:
    result = runner.invoke(app, ["limits", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, field in RiskLimits.model_fields.items():
        assert name in result.output
        assert (field.description or "")[:30] in result.output


def test_strategies_list_json_gives_each_builtin_parameter_type_default_and_bounds() -> None:
    result = runner.invoke(app, ["strategies", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)["strategies"]}
    assert {"sma_cross", "mean_reversion", "momentum"} <= set(rows)
    assert set(rows) == set(registered())
    fast = rows["sma_cross"]["parameters"][0]
    assert fast == {
        "name": "fast",
        "type": "int",
        "default": 10,
        "minimum": 1,
        "maximum": None,
        "help": "fast SMA period (bars)",
    }
    size = {p["name"]: p for p in rows["sma_cross"]["parameters"]}["size"]
    assert (size["type"], size["default"], size["minimum"]) == ("decimal", "1", "0.00000001")
    for name, row in rows.items():
        listed = {p["name"]: str(p["default"]) for p in row["parameters"]}
        assert list(listed) == list(registered()[name].parameters)
        assert row["description"] and "``" not in row["description"]
        validated = validate_params(name, registered()[name].parameters, listed)
        assert validated == {k: p.default for k, p in registered()[name].parameters.items()}


def test_strategies_list_table_shows_parameters() -> None:
    result = runner.invoke(app, ["strategies", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, cls in registered().items():
        assert name in result.output
        for parameter in cls.parameters:
            assert parameter in result.output
    assert ">= 0.00000001" in result.output


def test_the_strategy_guide_lists_every_limit_with_its_default() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "strategies.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", guide, re.M))
    expected = {row["name"]: row["default"] or "none" for row in limit_rows()}
    assert {name: rows.get(name, "").strip() for name in expected} == expected, (
        "docs/strategies.md's risk limit table must match `lh limits list`"
    )
