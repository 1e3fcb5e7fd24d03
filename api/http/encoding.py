"""Read-side rows as JSON: exact decimals as strings, instants as ISO 8601 UTC (``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.events.envelope import from_microseconds


def instant(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def micros(value: int) -> str:
    return instant(from_microseconds(value))


def plain(value: Any) -> Any:
    """``value`` with every Decimal, datetime and tuple made JSON-ready, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(item) for item in value]
    return value
