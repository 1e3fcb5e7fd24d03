"""Typed strategy parameters: declared once on the class, validated before a run starts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class StrategyError(ValueError):
    """A strategy cannot be found, loaded or configured; the message says which and why."""


ParamValue = int | float | Decimal | str | bool


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter: its type, default and inclusive bounds."""

    kind: type[int] | type[float] | type[Decimal] | type[str] | type[bool]
    default: ParamValue
    minimum: ParamValue | None = None
    maximum: ParamValue | None = None
    help: str = ""

    def parse(self, name: str, raw: object) -> ParamValue:
        value = self._convert(name, raw)
        if self.minimum is not None and value < self.minimum:  # type: ignore[operator]
            raise StrategyError(f"parameter {name}={raw!r} is below its minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:  # type: ignore[operator]
            raise StrategyError(f"parameter {name}={raw!r} is above its maximum {self.maximum}")
        return value

    def _convert(self, name: str, raw: object) -> ParamValue:
        if isinstance(raw, self.kind) and not (self.kind is int and isinstance(raw, bool)):
            return raw
        text = str(raw).strip()
        try:
            if self.kind is bool:
                lowered = text.lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            if self.kind is int:
                return int(text)
            if self.kind is float:
                number = float(text)
                if not math.isfinite(number):
                    raise ValueError(text)
                return number
            if self.kind is Decimal:
                decimal = Decimal(text)
                if not decimal.is_finite():
                    raise ValueError(text)
                return decimal
        except (ValueError, InvalidOperation):
            raise StrategyError(
                f"parameter {name}={raw!r} is not a valid {self.kind.__name__}"
            ) from None
        return text


def validate_params(
    strategy: str, declared: Mapping[str, Param], raw: Mapping[str, object]
) -> dict[str, Any]:
    """Defaults overlaid with ``raw``; unknown names and bad values raise ``StrategyError``."""
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise StrategyError(
            f"strategy {strategy} has no parameter {', '.join(unknown)} (known: {known})"
        )
    values: dict[str, Any] = {}
    for name, param in declared.items():
        values[name] = param.parse(name, raw[name]) if name in raw else param.default
    return values


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["fast=5", "slow=20"]`` -> ``{"fast": "5", "slow": "20"}``; malformed items raise."""
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise StrategyError(f"parameter {item!r} must look like name=value")
        result[name.strip()] = value.strip()
    return result
