"""Cursor pagination for list endpoints: ``?limit=N&cursor=C`` answers ``items`` and a
``next_cursor`` (null on the last page). The cursor is opaque to clients (base64 of where the
next page starts and of the filters it was made for); one made for other filters is refused."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from api.http.problems import ProblemError

MAX_LIMIT = 1_000
DEFAULT_LIMIT = 100


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _scope(filters: dict[str, Any]) -> str:
    text = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(offset: int, filters: dict[str, Any]) -> str:
    raw = json.dumps({"o": offset, "s": _scope(filters)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, filters: dict[str, Any]) -> int:
    """Where the page starts; 422 for a cursor that is not ours or made for other filters."""
    if not cursor:
        return 0
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, scope = int(raw["o"]), str(raw["s"])
    except (ValueError, KeyError, TypeError):
        raise ProblemError(422, "Invalid cursor", "pass back a next_cursor as given") from None
    if offset < 0 or scope != _scope(filters):
        raise ProblemError(
            422, "Invalid cursor", "the cursor was made for other filters; start without one"
        )
    return offset


def paginate(
    fetch: Callable[[int], list[dict[str, Any]]],
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, Any],
    encode_row: Callable[[dict[str, Any]], dict[str, Any]],
) -> Page:
    """One page from ``fetch(n)`` (the first ``n`` rows in a stable order)."""
    offset = decode(cursor, filters)
    rows = fetch(offset + limit + 1)
    page = rows[offset : offset + limit]
    more = len(rows) > offset + limit
    return Page(
        items=[encode_row(row) for row in page],
        next_cursor=encode(offset + limit, filters) if more else None,
    )
