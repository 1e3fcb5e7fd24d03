"""`lh limits list`, `lh strategies list`: what a user can configure, read from the code itself.

Meanings come from the ``RiskLimits`` field descriptions and the strategies' declared
``Param``s, so the listing, the validation and the docs cannot disagree.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import typer
from rich.table import Table

from api.cli.common import console
from domain.risk import RiskLimits
from domain.strategy.params import Param, ParamValue
from domain.strategy.registry import registered

limits_app = typer.Typer(help="Pre-trade risk limits.", no_args_is_help=True)
strategies_app = typer.Typer(help="Built-in strategies.", no_args_is_help=True)
JsonOption = typer.Option(False, "--json", help="Print exactly one JSON object.")

_BOUND_SIGNS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
_TYPE_NAMES = {int: "int", float: "float", Decimal: "decimal", str: "str", bool: "bool"}


def register(app: typer.Typer) -> None:
    """Add the `limits` and `strategies` groups to the top-level app."""
    app.add_typer(limits_app, name="limits")
    app.add_typer(strategies_app, name="strategies")


def limit_rows() -> list[dict[str, str]]:
    """Every risk limit: name, meaning, default (as ``--limit name=value`` takes it), bounds."""
    defaults = RiskLimits()
    rows = []
    for name, field in RiskLimits.model_fields.items():
        bounds = [
            f"{sign} {getattr(item, attr)}"
            for item in field.metadata
            for attr, sign in _BOUND_SIGNS
            if hasattr(item, attr)
        ]
        rows.append(
            {
                "name": name,
                "meaning": field.description or "",
                "default": defaults.value_text(name),
                "bounds": ", ".join(bounds),
            }
        )
    return rows


def strategy_rows() -> list[dict[str, Any]]:
    """Every registered strategy with its parameters: type, default, range and help."""
    rows = []
    for name, cls in sorted(registered().items()):
        doc = (cls.__doc__ or "").replace("``", "").strip().splitlines()
        rows.append(
            {
                "name": name,
                "description": doc[0] if doc else "",
                "parameters": [_param_row(key, param) for key, param in cls.parameters.items()],
            }
        )
    return rows


@limits_app.command("list")
def list_limits(as_json: bool = JsonOption) -> None:
    """Every risk limit with its meaning and default; change one with --limit name=value."""
    rows = limit_rows()
    if as_json:
        print(json.dumps({"limits": rows}))
        return
    table = Table("limit", "default", "bounds", "meaning", title="risk limits")
    for row in rows:
        table.add_row(row["name"], row["default"] or "none", row["bounds"], row["meaning"])
    console.print(table)


@strategies_app.command("list")
def list_strategies(as_json: bool = JsonOption) -> None:
    """Built-in strategies with their parameters; set one with --param name=value."""
    rows = strategy_rows()
    if as_json:
        print(json.dumps({"strategies": rows}))
        return
    table = Table("strategy", "parameter", "type", "default", "bounds", "meaning")
    for row in rows:
        table.add_section()
        table.add_row(row["name"], "", "", "", "", row["description"])
        for param in row["parameters"]:
            bounds = [
                f"{sign} {_text(param[key])}"
                for key, sign in (("minimum", ">="), ("maximum", "<="))
                if param[key] is not None
            ]
            table.add_row(
                "",
                param["name"],
                param["type"],
                _text(param["default"]),
                ", ".join(bounds),
                param["help"],
            )
    console.print(table)


def _param_row(name: str, param: Param) -> dict[str, Any]:
    return {
        "name": name,
        "type": _TYPE_NAMES[param.kind],
        "default": _json_value(param.default),
        "minimum": _json_value(param.minimum),
        "maximum": _json_value(param.maximum),
        "help": param.help,
    }


def _json_value(value: ParamValue | None) -> int | float | str | bool | None:
    """Decimals as exact strings, the rest as JSON's own types."""
    return f"{value:f}" if isinstance(value, Decimal) else value


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
