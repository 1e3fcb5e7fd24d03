"""Settings from the environment (``LH_*``) or a TOML file, with embedded defaults.

``Settings`` is frozen and hands out frozen sub-configs: ``stores`` (the URLs of the event
store and the read models), ``risk`` (``RiskLimits`` from the ``[risk]`` table), ``venue``
(``[venue.sim]``: the simulated venue's costs) and ``report`` (``[report.compliance]``: the
reports' thresholds). Every URL is checked at start-up; a malformed
one fails with the variable's name and a valid example (its secrets masked), before anything
is opened or written. The TOML file is read here only (``read_config_file``, one reader for
every table): a missing ``$LH_CONFIG``, bad TOML, an unknown key, an unknown risk limit or a
bad value is a ``ConfigError`` naming it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from adapters.venue.simulated import SimulatedVenueConfig
from domain.risk import RiskLimits
from domain.risk.limits import limit_input
from infra import urls


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and shows a valid example."""


class RiskConfigError(ConfigError):
    """A risk limit in the config file or on the command line is unknown or invalid."""


def var_dir() -> Path:
    """Where embedded stores live: ``LH_VAR_DIR`` or ``./var``."""
    return Path(os.environ.get("LH_VAR_DIR", "var")).resolve()


def config_file() -> Path:
    return Path(os.environ.get("LH_CONFIG", "lianghua.toml"))


TABLES = ("risk", "venue", "report")
"""Tables of the config file, each a frozen sub-config of ``Settings`` of the same name."""


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
    known = set(Settings.model_fields)
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


check_url = urls.check_url  # moved to infra.urls (light to import); still importable here

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


@dataclass(frozen=True)
class StoreSettings:
    """Where the log and its read models live: what the composition root opens."""

    event_store: str
    sql_url: str
    clickhouse_url: str
    object_store: str
    key_prefix: str
    """Of the Redis keys of the log (and its leases)."""
    archive: str
    """The archive of this log in the object store."""


class VenueSettings(BaseModel):
    """The ``[venue]`` table: one sub-table per venue kind (``[venue.sim]``)."""

    model_config = ConfigDict(frozen=True)

    sim: SimulatedVenueConfig = Field(default_factory=SimulatedVenueConfig)

    @model_validator(mode="before")
    @classmethod
    def _known_venues(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown venue {unknown[0]!r}; known venues: {', '.join(cls.model_fields)}"
                )
        return data


class ComplianceReportSettings(BaseModel):
    """The ``[report.compliance]`` table: where the compliance report and the filing pack flag
    behaviour. A key left out keeps the report's default (docs/compliance.md lists them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    orders_per_second: int | None = Field(default=None, ge=1)
    messages_per_day: int | None = Field(default=None, ge=1)
    order_to_trade_ratio: Decimal | None = Field(default=None, gt=0)
    cancel_ratio: Decimal | None = Field(default=None, ge=0)
    instant_cancel_us: int | None = Field(default=None, ge=0)
    restricted_symbols: tuple[str, ...] | None = None
    max_position: Decimal | None = Field(default=None, ge=0)
    burst_messages: int | None = Field(default=None, ge=0)
    wash_window_us: int | None = Field(default=None, ge=0)

    def given(self) -> dict[str, Any]:
        """The thresholds the table sets, by name."""
        return self.model_dump(exclude_none=True)


class ReportSettings(BaseModel):
    """The ``[report]`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compliance: ComplianceReportSettings = Field(default_factory=ComplianceReportSettings)


class Settings(BaseSettings):
    """The four stores LiangHua talks to, the risk limits and the simulated venue's costs."""

    model_config = SettingsConfigDict(env_prefix="LH_", extra="ignore", frozen=True)

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

    risk: RiskLimits = Field(default_factory=RiskLimits)
    """The ``[risk]`` table: every run's limits unless ``--limit`` overrides one."""
    venue: VenueSettings = Field(default_factory=VenueSettings)
    """The ``[venue]`` table: the simulated venue's costs unless options override them."""
    report: ReportSettings = Field(default_factory=ReportSettings)
    """The ``[report]`` table: the reports' thresholds (``[report.compliance]``)."""

    @property
    def stores(self) -> StoreSettings:
        return StoreSettings(
            event_store=self.event_store,
            sql_url=self.sql_url,
            clickhouse_url=self.clickhouse_url,
            object_store=self.object_store,
            key_prefix=self.redis_key_prefix,
            archive=self.archive_id or self.redis_key_prefix,
        )

    def risk_limits(self, overrides: Mapping[str, str]) -> RiskLimits:
        """``risk`` with ``--limit name=value`` overrides; ``RiskConfigError`` names a bad one."""
        raw: dict[str, Any] = self.risk.model_dump()
        for name, value in overrides.items():
            if name not in RiskLimits.model_fields:
                raise RiskConfigError(
                    f"--limit {name}=...: unknown risk limit {name!r}; "
                    f"valid names: {', '.join(limit_names())}"
                )
            raw[name] = limit_input(name, value)
        try:
            return RiskLimits.model_validate(raw)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise RiskConfigError(
                f"risk limit {where}: {first['msg'].removeprefix('Value error, ')} "
                "(from --limit or the [risk] table of the config file)"
            ) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        values = read_config_file()
        env = _EnvWithoutTables(settings_cls)
        return init_settings, env, InitSettingsSource(settings_cls, init_kwargs=values)

    @field_validator("risk", mode="before")
    @classmethod
    def _known_limits(cls, value: Any) -> Any:
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(limit_names()))
            if unknown:
                raise ValueError(
                    f"unknown risk limit {unknown[0]!r}; valid names: {', '.join(limit_names())}"
                )
        return value

    @field_validator("event_store", "sql_url", "clickhouse_url", "object_store")
    @classmethod
    def _known_scheme_with_location(cls, value: str, info: ValidationInfo) -> str:
        check_url(str(info.field_name), value)
        return value


class _EnvWithoutTables(EnvSettingsSource):
    """``LH_*`` variables for the plain settings; tables come from the config file only."""

    def __call__(self) -> dict[str, Any]:
        return {key: value for key, value in super().__call__().items() if key not in TABLES}


def limit_names() -> list[str]:
    """Every risk limit a user can set (``--limit NAME=...`` or ``[risk]``)."""
    return list(RiskLimits.model_fields)


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
    if loc and loc[0] in TABLES:
        return f"{name} in config file {config_file()}: {message}"
    return f"LH_{name.upper()} ({name} in the config file): {message}"
