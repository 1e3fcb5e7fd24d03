"""Settings from the environment (``LH_*``) or a TOML file, with embedded defaults.

Every URL is checked at start-up; a malformed one fails with the variable's name and a valid
example (its secrets masked), before anything is opened or written. The TOML file is read
here only (``read_config_file``): a missing ``$LH_CONFIG``, bad TOML or an unknown key is a
``ConfigError`` for every reader alike (settings and the ``[risk]`` table).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from infra.secrets import redact_url


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and shows a valid example."""


def var_dir() -> Path:
    """Where embedded stores live: ``LH_VAR_DIR`` or ``./var``."""
    return Path(os.environ.get("LH_VAR_DIR", "var")).resolve()


def config_file() -> Path:
    return Path(os.environ.get("LH_CONFIG", "lianghua.toml"))


TABLES = ("risk",)
"""Tables of the config file read by other modules (``[risk]``: api/application/limits.py)."""


def read_config_file() -> dict[str, Any]:
    """The TOML config file as a dict; ``{}`` when the default ``lianghua.toml`` is absent.

    A ``$LH_CONFIG`` naming no file, unreadable or malformed TOML, and keys that are neither a
    setting nor a known table raise ``ConfigError``: a typo must not silently fall back to the
    defaults (and record into the wrong store).
    """
    path = config_file()
    if not path.exists() and "LH_CONFIG" not in os.environ:
        return {}
    if not path.is_file():
        why = "no such file" if not path.exists() else "not a file"
        if "LH_CONFIG" in os.environ:
            raise ConfigError(f"LH_CONFIG={str(path)!r}: {why}; create it or unset LH_CONFIG")
        raise ConfigError(f"config file {path}: {why}; make it a TOML file or remove it")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML ({error}); fix it") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    known = set(Settings.model_fields) | set(TABLES)
    for key in data:
        if key in known:
            continue
        lowered = key.lower().removeprefix("lh_")
        hint = f"use {lowered}" if lowered in known else f"known keys: {', '.join(sorted(known))}"
        raise ConfigError(f"config file {path}: unknown key {key!r}; {hint}")
    for table in TABLES:
        if table in data and not isinstance(data[table], dict):
            raise ConfigError(f"config file {path}: {table} must be a table ([{table}])")
    return data


_SCHEMES = {
    "event_store": ("sqlite", "redis"),
    "sql_url": ("sqlite", "mysql+pymysql"),
    "clickhouse_url": ("chdb", "http", "https"),
    "object_store": ("file", "s3"),
}

EXAMPLE_URLS = {
    "event_store": "sqlite:///var/events.sqlite or redis://127.0.0.1:6379/0",
    "sql_url": "sqlite:///var/readmodel.sqlite or mysql+pymysql://root:@127.0.0.1:3306/lianghua",
    "clickhouse_url": "chdb:///abs/path/var/analytics or http://default:@127.0.0.1:8123/lianghua",
    "object_store": "file:///abs/path/var/objects or s3://ACCESS:SECRET@127.0.0.1:9000/lianghua",
}


RecordClass = Literal["anchors", "segments", "reports"]

DEFAULT_RETENTION_DAYS = 2192
"""Six years: the longest record period of SEC rule 17a-4(a) (MiFID II asks for five)."""


@dataclass(frozen=True)
class Retention:
    """How long each class of write-once record stays undeletable, in days (0: written
    create-only with no retention). Enforced only by a store that supports it (S3 Object
    Lock); elsewhere it is recorded intent, and the commands say so."""

    anchors_days: int = DEFAULT_RETENTION_DAYS
    segments_days: int = DEFAULT_RETENTION_DAYS
    reports_days: int = DEFAULT_RETENTION_DAYS

    def until(self, record: RecordClass, now: datetime) -> datetime | None:
        """The retain-until date of a ``record`` written at ``now`` (None: no retention)."""
        days: int = getattr(self, f"{record}_days")
        return now + timedelta(days=days) if days else None


class Settings(BaseSettings):
    """The four stores LiangHua talks to, plus safety switches for live trading."""

    model_config = SettingsConfigDict(env_prefix="LH_", extra="ignore")

    event_store: str = Field(default_factory=lambda: f"sqlite:///{var_dir() / 'events.sqlite'}")
    sql_url: str = Field(default_factory=lambda: f"sqlite:///{var_dir() / 'readmodel.sqlite'}")
    clickhouse_url: str = Field(default_factory=lambda: f"chdb://{var_dir() / 'analytics'}")
    object_store: str = Field(default_factory=lambda: f"file://{var_dir() / 'objects'}")
    redis_key_prefix: str = "lh"
    archive_id: str = ""  # the archive of this log in the object store; "" = redis_key_prefix
    run_lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    """Time to live of a run's lease (api/application/lease.py): how long a killed or paused
    holder keeps others out. Short in tests; the default suits production."""
    retention_anchors_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=0, le=36_500)
    retention_segments_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=0, le=36_500)
    retention_reports_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=0, le=36_500)

    @property
    def retention(self) -> Retention:
        """Write-once retention per record class (``LH_RETENTION_<CLASS>_DAYS``)."""
        return Retention(
            self.retention_anchors_days, self.retention_segments_days, self.retention_reports_days
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        values = {k: v for k, v in read_config_file().items() if k not in TABLES}
        return init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=values)

    @field_validator("event_store", "sql_url", "clickhouse_url", "object_store")
    @classmethod
    def _known_scheme_with_location(cls, value: str, info: ValidationInfo) -> str:
        check_url(str(info.field_name), value)
        return value


def check_url(name: str, url: str) -> None:
    """Raise ``ValueError`` unless ``url`` has a scheme we support and a usable location."""
    shown = f"LH_{name.upper()}={redact_url(url)!r}"
    example = f"for example {EXAMPLE_URLS[name]}"
    parts = urlsplit(url)
    schemes = _SCHEMES[name]
    if parts.scheme not in schemes:
        raise ValueError(f"{shown}: scheme must be one of {', '.join(schemes)}; {example}")
    is_path_scheme = parts.scheme in ("sqlite", "file", "chdb")
    location = (parts.netloc + parts.path).rstrip("/")
    if is_path_scheme and (not url.startswith(f"{parts.scheme}://") or not location):
        raise ValueError(f"{shown}: no path given; {example}")
    if parts.scheme == "sqlite" and parts.netloc:
        raise ValueError(
            f"{shown}: {parts.netloc!r} would be read as a host name, not a file: write "
            f"sqlite:///{parts.netloc}{parts.path} (relative path, three slashes) or "
            "sqlite:////abs/path/events.sqlite (absolute path, four slashes)"
        )
    if not is_path_scheme:
        try:
            _ = parts.port
        except ValueError as error:
            raise ValueError(f"{shown}: {error}; {example}") from None
        if not parts.hostname:
            raise ValueError(f"{shown}: no host given; {example}")
    if parts.scheme == "s3" and not parts.path.strip("/"):
        raise ValueError(f"{shown}: no bucket given; {example}")


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's error into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = [_problem(item["loc"], str(item["msg"])) for item in error.errors()]
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message.startswith("LH_"):
        return message
    name = ".".join(str(part) for part in loc)
    return f"LH_{name.upper()} ({name} in the config file): {message}"
