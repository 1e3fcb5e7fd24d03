"""Settings: embedded defaults, environment and TOML sources, clear errors for bad URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import ConfigError, Settings, load_settings


def test_defaults_are_embedded_stores_under_the_var_dir(tmp_path: Path) -> None:
    settings = load_settings()
    var = tmp_path / "var"
    assert settings.event_store == f"sqlite:///{var / 'events.sqlite'}"
    assert settings.object_store == f"file://{var / 'objects'}"
    assert settings.clickhouse_url.startswith("chdb://")
    assert settings.sql_url.startswith("sqlite:///")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LH_EVENT_STORE", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("LH_OBJECT_STORE", "s3://key:secret@127.0.0.1:9000/archive")
    settings = load_settings()
    assert settings.event_store == "redis://127.0.0.1:6379/3"
    assert settings.object_store.endswith("/archive")


def test_toml_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text('event_store = "redis://10.1.2.3:6380/0"\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    assert load_settings().event_store == "redis://10.1.2.3:6380/0"


def test_environment_beats_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "lianghua.toml"
    config.write_text('event_store = "redis://10.1.2.3:6380/0"\n')
    monkeypatch.setenv("LH_CONFIG", str(config))
    monkeypatch.setenv("LH_EVENT_STORE", "redis://127.0.0.1:6379/1")
    assert load_settings().event_store == "redis://127.0.0.1:6379/1"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LH_EVENT_STORE", "postgres://db/events", "LH_EVENT_STORE='postgres://db/events': scheme"),
        ("LH_EVENT_STORE", "redis://:6379/0", "no host"),
        ("LH_EVENT_STORE", "redis://localhost:99999/0", "out of range"),
        ("LH_SQL_URL", "mysql://root@db/x", "mysql+pymysql"),
        ("LH_CLICKHOUSE_URL", "tcp://ch:9000", "chdb, http, https"),
        ("LH_OBJECT_STORE", "s3://key:secret@minio:9000", "no bucket"),
        ("LH_OBJECT_STORE", "file://", "no path"),
    ],
)
def test_malformed_urls_fail_naming_the_variable_with_an_example(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message and expected in message and "for example" in message


def test_settings_class_reads_init_values() -> None:
    assert Settings(event_store="sqlite:///x.sqlite").event_store == "sqlite:///x.sqlite"
