"""A wrong configuration URL stops any command at start-up with a clear message."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app


def test_bad_event_store_url_exits_2_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", "sqlite:/")
    result = CliRunner().invoke(app, ["store", "info"])
    assert result.exit_code == 2
    assert "LH_EVENT_STORE" in result.output and "for example" in result.output


def test_store_info_on_embedded_defaults_reports_an_empty_log() -> None:
    result = CliRunner().invoke(app, ["store", "info"])
    assert result.exit_code == 0, result.output
    assert "head position: 0" in result.output
