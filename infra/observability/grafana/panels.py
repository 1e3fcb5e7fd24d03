"""Small helpers over grafana-foundation-sdk: a panel placed on the grid, PromQL and ClickHouse
SQL targets, thresholds, and a built dashboard as plain JSON."""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    GridPos,
    Threshold,
    ThresholdsMode,
)

PROMETHEUS_UID = "lh-prometheus"
CLICKHOUSE_UID = "lh-clickhouse"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)
CLICKHOUSE = DataSourceRef(type_val="grafana-clickhouse-datasource", uid=CLICKHOUSE_UID)

TABLE_FORMAT = 1
"""The ClickHouse plugin's query formats: 0 time series, 1 table."""
TIME_SERIES_FORMAT = 0


class Placeable(Protocol):
    def grid_pos(self, grid_pos: GridPos) -> Any: ...


P = TypeVar("P", bound=Placeable)


def at(panel: P, *, x: int, y: int, w: int, h: int = 8) -> P:
    """``panel`` at column ``x``, row ``y``, ``w`` columns (of 24) wide and ``h`` rows high."""
    panel.grid_pos(GridPos(h=h, w=w, x=x, y=y))
    return panel


def promql(expr: str, legend: str = "", ref_id: str = "A") -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).ref_id(ref_id).datasource(PROMETHEUS)
    return query.legend_format(legend) if legend else query


class ClickHouseSql(cogbuilder.Builder[cogvariants.Dataquery]):
    """A raw-SQL query of Grafana's ClickHouse plugin (grafana-clickhouse-datasource), which
    the SDK has no typed builder for: kept as the plugin's JSON."""

    def __init__(self, sql: str, *, table: bool = False, ref_id: str = "A") -> None:
        self._sql, self._table, self._ref_id = " ".join(sql.split()), table, ref_id

    def build(self) -> cogvariants.Dataquery:
        return cogruntime.UnknownDataquery(
            {
                "refId": self._ref_id,
                "datasource": {"type": CLICKHOUSE.type_val, "uid": CLICKHOUSE.uid},
                "editorType": "sql",
                "queryType": "table" if self._table else "timeseries",
                "format": TABLE_FORMAT if self._table else TIME_SERIES_FORMAT,
                "rawSql": self._sql,
            }
        )

    @property
    def sql(self) -> str:
        return self._sql


def thresholds(*steps: tuple[float | None, str]) -> board.ThresholdsConfig:
    """Absolute thresholds: ``(None, "green"), (5, "red")`` = red from 5 up."""
    config = board.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE)
    return config.steps([Threshold(value=value, color=color) for value, color in steps])


def as_json(dashboard: board.Dashboard) -> dict[str, Any]:
    """The dashboard model as Grafana's JSON (what the HTTP API and files take), its panels
    numbered in order (Grafana keys panel state and links by id) and unset options left out."""
    loaded: dict[str, Any] = json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))
    for number, panel in enumerate(loaded["panels"], start=1):
        panel["id"] = number
        if panel.get("options") is None:
            panel.pop("options", None)
    return loaded
