"""Settings from the environment (``LH_*``) or a TOML file, with embedded defaults.

Every URL is checked at start-up; a malformed one fails with the variable's name and a valid
example, before anything is opened or written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and shows a valid example."""


def var_dir() -> Path:
    """Where embedded stores live: ``LH_VAR_DIR`` or ``./var``."""
    return Path(os.environ.get("LH_VAR_DIR", "var")).resolve()


def config_file() -> Path:
    return Path(os.environ.get("LH_CONFIG", "lianghua.toml"))


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


class Settings(BaseSettings):
    """The four stores LiangHua talks to, plus safety switches for live trading."""

    model_config = SettingsConfigDict(env_prefix="LH_", extra="ignore")
    toml_path: ClassVar[Path | None] = None

    event_store: str = Field(default_factory=lambda: f"sqlite:///{var_dir() / 'events.sqlite'}")
    sql_url: str = Field(default_factory=lambda: f"sqlite:///{var_dir() / 'readmodel.sqlite'}")
    clickhouse_url: str = Field(default_factory=lambda: f"chdb://{var_dir() / 'analytics'}")
    object_store: str = Field(default_factory=lambda: f"file://{var_dir() / 'objects'}")
    redis_key_prefix: str = "lh"
    archive_id: str = ""  # the archive of this log in the object store; "" = redis_key_prefix

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = cls.toml_path or config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @field_validator("event_store", "sql_url", "clickhouse_url", "object_store")
    @classmethod
    def _known_scheme_with_location(cls, value: str, info: ValidationInfo) -> str:
        check_url(str(info.field_name), value)
        return value


def check_url(name: str, url: str) -> None:
    """Raise ``ValueError`` unless ``url`` has a scheme we support and a usable location."""
    variable = f"LH_{name.upper()}"
    parts = urlsplit(url)
    schemes = _SCHEMES[name]
    if parts.scheme not in schemes:
        raise ValueError(
            f"{variable}={url!r}: scheme must be one of {', '.join(schemes)}; "
            f"for example {EXAMPLE_URLS[name]}"
        )
    is_path_scheme = parts.scheme in ("sqlite", "file", "chdb")
    location = (parts.netloc + parts.path).rstrip("/")
    if is_path_scheme and (not url.startswith(f"{parts.scheme}://") or not location):
        raise ValueError(f"{variable}={url!r}: no path given; for example {EXAMPLE_URLS[name]}")
    if not is_path_scheme:
        try:
            _ = parts.port
        except ValueError as error:
            raise ValueError(
                f"{variable}={url!r}: {error}; for example {EXAMPLE_URLS[name]}"
            ) from None
        if not parts.hostname:
            raise ValueError(f"{variable}={url!r}: no host given; for example {EXAMPLE_URLS[name]}")
    if parts.scheme == "s3" and not parts.path.strip("/"):
        raise ValueError(f"{variable}={url!r}: no bucket given; for example {EXAMPLE_URLS[name]}")


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's error into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = [str(item["msg"]).removeprefix("Value error, ") for item in error.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
