"""Provision Grafana idempotently: datasources, the LiangHua folder and the dashboards, each
identified by its uid. What already matches is left alone, what differs is overwritten, what is
missing is created; a second run against the same Grafana therefore changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from grafana_client.client import GrafanaClientError

from infra.observability.grafana.dashboards import FOLDER_TITLE, FOLDER_UID, dashboards
from infra.observability.grafana.panels import CLICKHOUSE, CLICKHOUSE_UID, PROMETHEUS_UID

NOT_FOUND = 404


class GrafanaApi(Protocol):
    """The part of ``grafana_client.GrafanaApi`` provisioning uses."""

    datasource: Any
    folder: Any
    dashboard: Any


@dataclass(frozen=True)
class Targets:
    """Where the datasources point (as seen from the Grafana server)."""

    prometheus_url: str = "http://prometheus:9090"
    clickhouse_host: str = "clickhouse"
    clickhouse_port: int = 8123
    clickhouse_database: str = "lianghua"
    clickhouse_user: str = "default"
    clickhouse_password: str = field(default="", repr=False)


@dataclass
class Report:
    """What one run did, per object: ``created``, ``updated`` or ``unchanged``."""

    actions: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(action != "unchanged" for action in self.actions.values())


def datasources(targets: Targets) -> list[dict[str, Any]]:
    """The two datasources, as Grafana's datasource API takes them."""
    clickhouse: dict[str, Any] = {
        "uid": CLICKHOUSE_UID,
        "name": "LiangHua ClickHouse",
        "type": CLICKHOUSE.type_val,
        "access": "proxy",
        "jsonData": {
            "host": targets.clickhouse_host,
            "port": targets.clickhouse_port,
            "protocol": "http",
            "defaultDatabase": targets.clickhouse_database,
            "username": targets.clickhouse_user,
        },
    }
    if targets.clickhouse_password:
        clickhouse["secureJsonData"] = {"password": targets.clickhouse_password}
    prometheus = {
        "uid": PROMETHEUS_UID,
        "name": "LiangHua Prometheus",
        "type": "prometheus",
        "access": "proxy",
        "url": targets.prometheus_url,
        "isDefault": True,
        "jsonData": {"timeInterval": "15s"},
    }
    return [prometheus, clickhouse]


def _missing(call: Any, *args: Any) -> Any:
    """``call(*args)``, or ``None`` when Grafana answers 404."""
    try:
        return call(*args)
    except GrafanaClientError as error:
        if error.status_code == NOT_FOUND:
            return None
        raise


def _same(wanted: dict[str, Any], found: dict[str, Any]) -> bool:
    """Whether every field we set has the value we want (secrets are never read back, so a
    datasource with a password is always rewritten)."""
    if "secureJsonData" in wanted:
        return False
    return all(found.get(key) == value for key, value in wanted.items())


def provision(api: GrafanaApi, targets: Targets) -> Report:
    report = Report()
    for source in datasources(targets):
        found = _missing(api.datasource.get_datasource_by_uid, source["uid"])
        name = f"datasource {source['uid']}"
        if found is None:
            api.datasource.create_datasource(source)
            report.actions[name] = "created"
        elif _same(source, found):
            report.actions[name] = "unchanged"
        else:
            api.datasource.update_datasource_by_uid(source["uid"], source)
            report.actions[name] = "updated"
    folder = _missing(api.folder.get_folder, FOLDER_UID)
    if folder is None:
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        report.actions[f"folder {FOLDER_UID}"] = "created"
    elif folder.get("title") != FOLDER_TITLE:
        api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
        report.actions[f"folder {FOLDER_UID}"] = "updated"
    else:
        report.actions[f"folder {FOLDER_UID}"] = "unchanged"
    for dashboard in dashboards():
        name = f"dashboard {dashboard['uid']}"
        found = _missing(api.dashboard.get_dashboard, dashboard["uid"])
        current = _comparable(found["dashboard"]) if found else None
        in_folder = bool(found) and found.get("meta", {}).get("folderUid") == FOLDER_UID
        if current == _comparable(dashboard) and in_folder:
            report.actions[name] = "unchanged"
            continue
        api.dashboard.update_dashboard(
            {
                "dashboard": dashboard,
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "lh grafana provision",
            }
        )
        report.actions[name] = "created" if found is None else "updated"
    return report


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A dashboard without the fields Grafana assigns on save."""
    return {key: value for key, value in dashboard.items() if key not in ("id", "version")}
