"""The columns a bar file must have, found case-insensitively, with common aliases."""

from __future__ import annotations

from adapters.marketdata.errors import MarketDataError

PRICE_COLUMNS = ("open", "high", "low", "close")
VALUE_COLUMNS = (*PRICE_COLUMNS, "volume")
REQUIRED = ("timestamp", *VALUE_COLUMNS)
ALIASES = {
    "timestamp": ("timestamp", "time", "datetime", "date", "open_time", "ts"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
    "symbol": ("symbol", "ticker", "instrument"),
}


def map_columns(names: list[str], where: str) -> dict[str, str]:
    """Our column name -> the file's column name; raises naming the missing columns."""
    by_lower: dict[str, str] = {}
    for name in names:
        key = name.strip().lower()
        if key in by_lower:
            raise MarketDataError(f"{where}: column {name.strip()!r} appears more than once")
        by_lower[key] = name
    found: dict[str, str] = {}
    for ours, aliases in ALIASES.items():
        match = next((by_lower[alias] for alias in aliases if alias in by_lower), None)
        if match is not None:
            found[ours] = match
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        raise MarketDataError(
            f"{where}: missing column(s) {', '.join(missing)}; the file has "
            f"{', '.join(ascii(name) for name in names[:20])} "
            f"(expected {', '.join(REQUIRED)} and optionally symbol)"
        )
    return found
