"""An account's trades since a time, in the pages an exchange accepts.

Binance answers an account trade query over at most 24 hours (startTime..endTime; one bound
alone means the 24 hours after or before it) and at most 1000 rows; OKX and Bybit return at
most 100 rows a page (Bybit also 7 days at most). So ``trades_since`` first asks for the most
recent trade (which bounds the search), then walks 24-hour windows from ``since`` up to it,
paging each window by time. Trades are told apart by id: a trade on a page boundary (asked
for twice) is kept once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

DAY_MS = 86_400_000
PAGE_ROWS = {"binance": 1000, "okx": 100, "bybit": 100}
"""The most rows each exchange returns a page."""

Trade = dict[str, Any]
Fetch = Callable[[int | None, int, dict[str, Any]], list[Trade]]
"""ccxt's ``fetch_my_trades`` for one market: (since ms, limit, params) -> trades."""


def trades_since(fetch: Fetch, since_ms: int | None, rows: int) -> list[Trade]:
    """Every trade at or after ``since_ms``, each once, oldest first; with no ``since_ms``,
    the most recent page (``rows`` trades at most)."""
    if since_ms is None:
        return _in_order(fetch(None, rows, {}))
    latest = fetch(None, 1, {})
    horizon = max((_ms(trade) for trade in latest), default=-1)
    if horizon < since_ms:
        return []
    found: dict[str, Trade] = {}
    for start in range(since_ms, horizon + 1, DAY_MS):
        found.update(_window(fetch, start, start + DAY_MS - 1, rows))
    return _in_order(found.values())


def _window(fetch: Fetch, start_ms: int, end_ms: int, rows: int) -> dict[str, Trade]:
    """The trades of ``start_ms..end_ms`` (at most 24 h), a page at a time; the next page
    starts at the last one's latest time. (More than ``rows`` trades within one
    millisecond cannot be paged by time: the rest of that millisecond is not read.)"""
    found: dict[str, Trade] = {}
    cursor = start_ms
    while True:
        page = fetch(cursor, rows, {"until": end_ms})
        fresh = {str(trade["id"]): trade for trade in page if str(trade["id"]) not in found}
        found.update(fresh)
        if len(page) < rows or not fresh:
            return found
        cursor = max(_ms(trade) for trade in page)


def _ms(trade: Trade) -> int:
    return int(trade["timestamp"])


def _in_order(trades: Iterable[Trade]) -> list[Trade]:
    unique = {str(trade["id"]): trade for trade in trades}
    return sorted(
        unique.values(),
        key=lambda trade: (_ms(trade), int(trade["id"]) if str(trade["id"]).isdigit() else 0),
    )
