"""ops/compose.yaml is a valid Compose file (the Compose specification's current JSON schema,
as shipped in the check-jsonschema package) and a complete stack: every service restarts and
reports health, secrets come from files, one projection runner per read model, Prometheus
scrapes what runs.
Docker cannot run here: nothing in this file starts a container."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml

from projections.registry import NAMES
from tests.ops.support import OPS

COMPOSE = yaml.safe_load((OPS / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ONE_SHOT = {"minio-init", "lh-init"}
SCHEMA = json.loads(
    files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
)


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(COMPOSE)]
    assert errors == []


def test_the_schema_catches_a_broken_compose_file() -> None:
    broken = json.loads(json.dumps(COMPOSE))
    broken["services"]["redis"]["restart_policy"] = "always"  # not a service key
    broken["services"]["api"]["ports"] = "8000"  # must be a list
    errors = {
        (".".join(map(str, e.path)), e.validator)
        for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(broken)
    }
    assert ("services.redis", "unevaluatedProperties") in errors
    assert ("services.api.ports", "type") in errors


def test_the_stack_has_every_component() -> None:
    wanted = {"redis", "mariadb", "clickhouse", "minio", "prometheus", "grafana", "api", "sealer"}
    assert wanted <= set(SERVICES)
    runners = {
        name: service for name, service in SERVICES.items() if name.startswith("projections-")
    }
    assert {
        service["command"][service["command"].index("--only") + 1] for service in runners.values()
    } == set(NAMES)
    assert "--appendonly yes" in " ".join(SERVICES["redis"]["command"])
    assert "--with-lock" in " ".join(SERVICES["minio-init"]["entrypoint"])
    assert "--every" in SERVICES["sealer"]["command"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_restarts_and_reports_health(name: str) -> None:
    service = SERVICES[name]
    if name in ONE_SHOT:
        assert service["restart"] == "on-failure"
        return
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"]


def test_dependencies_and_secrets_are_declared() -> None:
    declared = set(COMPOSE["secrets"])
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES and dependency != name, (name, dependency)
        assert set(service.get("secrets", [])) <= declared, name
    for secret in COMPOSE["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    ignored = (OPS / "secrets" / ".gitignore").read_text().split()
    assert ignored == ["*", "!.gitignore"]


def test_no_secret_is_written_in_the_compose_file_or_the_image() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|SECRET|TOKEN", key):
                assert str(value).startswith("/run/secrets/"), (name, key)
    dockerfile = (OPS / "Dockerfile").read_text()
    assert not re.search(r"(?i)(password|secret)\s*=", dockerfile)


def test_prometheus_scrapes_the_services_that_serve_metrics() -> None:
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    targets |= {
        f"{name}:{dns['port']}"
        for job in config["scrape_configs"]
        for dns in job.get("dns_sd_configs", [])
        for name in dns["names"]
    }
    for name, service in SERVICES.items():
        command = service.get("command", [])
        if "--metrics-port" in command:
            assert f"{name}:{command[command.index('--metrics-port') + 1]}" in targets, name
    assert "api:8000" in targets and "node-exporter:9100" in targets
