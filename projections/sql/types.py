"""Column types that keep money exact and times to the microsecond on MySQL and SQLite alike.

MySQL/MariaDB get ``DECIMAL(38, 18)`` and ``DATETIME(6)``. SQLite has no decimal type (its
NUMERIC affinity silently turns values into binary floats), so there decimals are stored as
canonical fixed-point text and read back as ``Decimal``.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

SCALE = 18
QUANTUM = Decimal(1).scaleb(-SCALE)
_WIDE = Context(prec=60)  # 38 digits need more than the default 28 to quantize exactly
_LIMIT = Decimal(10) ** (38 - SCALE)


class DecimalText(TypeDecorator[Decimal]):
    """A decimal kept as text (SQLite): exact, never a float."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        exact = Decimal(value)
        if not -_LIMIT < exact < _LIMIT:  # MySQL refuses these too: one behaviour for both
            shown = exact.normalize(_WIDE)
            raise ValueError(f"{shown} does not fit DECIMAL(38, {SCALE}) (below 10^20 in size)")
        return format(exact.quantize(QUANTUM, context=_WIDE), "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def exact_decimal() -> Numeric[Decimal]:
    """38 digits, 18 after the point: room for notional sums and crypto quantities."""
    return Numeric(38, SCALE, asdecimal=True).with_variant(DecimalText(), "sqlite")


def utc_micros() -> DateTime:
    """Naive UTC datetimes with microseconds (DATETIME(6) on MySQL)."""
    return DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def constructor_of(column_type: TypeEngine[Any]) -> str | None:
    """``"exact_decimal()"`` or ``"utc_micros()"`` for the types those build, else ``None``:
    how a generated migration writes them (instead of their variants spelled out)."""
    variants = column_type._variant_mapping  # sqlalchemy's per-dialect variants
    if isinstance(column_type, Numeric) and isinstance(variants.get("sqlite"), DecimalText):
        return "exact_decimal()"
    if isinstance(column_type, DateTime) and isinstance(variants.get("mysql"), mysql.DATETIME):
        return "utc_micros()"
    return None
