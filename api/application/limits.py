"""Risk limits from configuration: the ``[risk]`` table of the TOML config file, then overrides.

``lianghua.toml`` (or ``$LH_CONFIG``)::

    [risk]
    max_order_notional = "250000"
    restricted_symbols = ["XRPUSDT"]

Command-line ``--limit name=value`` overrides win. Unknown names and bad values are errors
that list the valid names. The file is read by ``infra.settings.read_config_file`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from domain.risk import RiskLimits
from infra.settings import config_file, read_config_file


class RiskConfigError(ValueError):
    """A risk limit in the config file or on the command line is unknown or invalid."""


def limit_names() -> list[str]:
    """Every risk limit a user can set (``--limit NAME=...`` or ``[risk]``)."""
    return list(RiskLimits.model_fields)


def configured_limits(overrides: Mapping[str, str]) -> RiskLimits:
    """The ``[risk]`` table of the config file (``read_config_file``), then ``overrides``.

    Raises ``ConfigError`` for a bad config file and ``RiskConfigError`` for a bad limit.
    """
    source = config_file()
    raw: dict[str, Any] = dict(read_config_file().get("risk", {}))
    unknown = sorted(set(raw) - set(limit_names()))
    if unknown:
        raise RiskConfigError(
            f"unknown risk limit {unknown[0]!r} in [risk] of {source}; "
            f"valid names: {', '.join(limit_names())}"
        )
    for name, value in overrides.items():
        if name not in RiskLimits.model_fields:
            raise RiskConfigError(
                f"--limit {name}=...: unknown risk limit {name!r}; "
                f"valid names: {', '.join(limit_names())}"
            )
        if name == "restricted_symbols":
            raw[name] = [s.strip() for s in value.split(",") if s.strip()]
        else:
            raw[name] = None if value.strip().lower() == "none" else value
    if isinstance(raw.get("restricted_symbols"), list):
        raw["restricted_symbols"] = frozenset(raw["restricted_symbols"])
    try:
        return RiskLimits.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RiskConfigError(
            f"risk limit {where}: {first['msg'].removeprefix('Value error, ')} "
            f"(from {source} or --limit)"
        ) from None
