"""The scrape config and alert rules are valid for Prometheus, and every alert fires (and only
fires) when its unit tests say so: `promtool check` and `promtool test rules`, run for real."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.ops.support import OPS, tool

PROMETHEUS = OPS / "prometheus"
ALERTS = (
    "ComponentDown",
    "ProjectionLagging",
    "OrderRejectionRateHigh",
    "LossLimitBreached",
    "KillSwitchEngaged",
    "ProcessMemoryHigh",
    "DiskSpaceLow",
    "VenueDisconnected",
    "ArchiveSealStale",
)


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *map(str, args)], capture_output=True, text=True, check=False
    )


def test_rules_and_scrape_config_are_valid() -> None:
    rules = _promtool("check", "rules", *sorted((PROMETHEUS / "rules").glob("*.yml")))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_alert_rule_unit_tests_pass() -> None:
    done = _promtool("test", "rules", *sorted((PROMETHEUS / "tests").glob("*.yml")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_every_required_alert_exists_and_is_unit_tested() -> None:
    rules = "".join(path.read_text() for path in (PROMETHEUS / "rules").glob("*.yml"))
    tests = "".join(path.read_text() for path in (PROMETHEUS / "tests").glob("*.yml"))
    for alert in ALERTS:
        assert f"alert: {alert}" in rules
        assert f"alertname: {alert}" in tests


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The unit tests can fail: the same file with one expected value changed does."""
    original = (PROMETHEUS / "tests" / "lianghua.test.yml").read_text()
    wrong = original.replace("60% of its", "50% of its").replace(
        "../rules/", f"{PROMETHEUS / 'rules'}/"
    )
    assert wrong != original
    (tmp_path / "wrong.test.yml").write_text(wrong)
    assert _promtool("test", "rules", tmp_path / "wrong.test.yml").returncode != 0
