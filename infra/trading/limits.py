"""Risk limits from configuration: the ``[risk]`` table of the TOML config file, then overrides.

``lianghua.toml`` (or ``$LH_CONFIG``)::

    [risk]
    max_order_notional = "250000"
    restricted_symbols = ["XRPUSDT"]

Command-line ``--limit name=value`` overrides win. Unknown names and bad values are errors.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from domain.risk import RiskLimits
from infra.settings import config_file


class RiskConfigError(ValueError):
    """A risk limit in the config file or on the command line is unknown or invalid."""


def configured_limits(overrides: Mapping[str, str], *, path: Path | None = None) -> RiskLimits:
    source = path or config_file()
    raw: dict[str, Any] = {}
    if source.is_file():
        try:
            table = tomllib.loads(source.read_text()).get("risk", {})
        except tomllib.TOMLDecodeError as error:
            raise RiskConfigError(f"{source}: {error}") from None
        if not isinstance(table, dict):
            raise RiskConfigError(f"{source}: [risk] must be a table")
        raw.update(table)
    for name, value in overrides.items():
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
