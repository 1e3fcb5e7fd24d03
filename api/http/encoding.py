"""Read-side rows as JSON: exact decimals as strings, instants as ISO 8601 UTC (``Z``).

A page of orders is thousands of values: scalars are converted by a lookup on their exact
type (no recursion for them), and the read model's naive UTC times are formatted directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.events.envelope import from_microseconds


def instant(value: datetime) -> str:
    if value.tzinfo is None:  # the read model's times: naive UTC
        return value.isoformat() + "Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def micros(value: int) -> str:
    return instant(from_microseconds(value))


def plain(value: Any) -> Any:
    """``value`` with every Decimal, datetime and container made JSON-ready, recursively."""
    convert = _SCALARS.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    if isinstance(value, Decimal | datetime):  # a subclass
        return str(value) if isinstance(value, Decimal) else instant(value)
    return value


def _same(value: Any) -> Any:
    return value


_SCALARS: dict[type, Callable[[Any], Any]] = {
    str: _same,
    int: _same,
    bool: _same,
    float: _same,
    type(None): _same,
    Decimal: str,
    datetime: instant,
}
