"""``/positions``, ``/orders``, ``/trades``, ``/performance``: the SQL read model through
``projections.queries.current_state``, filtered by run, account, strategy, symbol and time,
one cursor page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Engine

from api.http.auth import Context, Viewer
from api.http.cached import cached_read
from api.http.encoding import plain
from api.http.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from api.http.problems import ProblemError
from projections.queries.current_state import fills, orders, positions, strategy_runs

router = APIRouter(tags=["trading"])

Name = Annotated[str | None, Query(min_length=1, max_length=128)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
Instant = Annotated[datetime | None, Query(description="ISO 8601; naive means UTC.")]


def account_of(engine: Engine, run: str | None, account: str | None) -> str | None:
    """The account to filter by: the run's (404 for an unknown run), else ``account``."""
    if run is None:
        return account
    found = [row for row in strategy_runs(engine) if row["run_id"] == run]
    if not found:
        raise ProblemError(404, "Unknown run", f"no run {run!r} in the read model")
    if account is not None and account != found[0]["account"]:
        raise ProblemError(
            422, "Invalid request", f"run {run} trades account {found[0]['account']}"
        )
    return str(found[0]["account"])


def naive_utc(value: datetime | None) -> datetime | None:
    """The read model's times are naive UTC."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise ProblemError(422, "Invalid request", f"{value} is out of range") from None


@router.get("/positions", response_model=Page)
async def get_positions(
    *,
    request: Request,
    lh: Context,
    principal: Viewer,
    run: Name = None,
    account: Name = None,
    strategy: Name = None,
    symbol: Name = None,
    include_flat: bool = False,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:

    def build() -> dict[str, Any]:
        engine = lh.sql()
        owner = account_of(engine, run, account)
        filters = {"account": owner, "strategy": strategy, "symbol": symbol, "flat": include_flat}

        def fetch(count: int) -> list[dict[str, Any]]:
            rows = positions(engine, account=owner, strategy=strategy, include_flat=include_flat)
            return [row for row in rows if symbol is None or row["symbol"] == symbol][:count]

        return paginate(
            fetch, limit=limit, cursor=cursor, filters=filters, encode_row=plain
        ).model_dump()

    return await cached_read(lh, request, build)


@router.get("/orders", response_model=Page)
async def get_orders(
    *,
    request: Request,
    lh: Context,
    principal: Viewer,
    run: Name = None,
    account: Name = None,
    strategy: Name = None,
    symbol: Name = None,
    status: Annotated[str | None, Query(max_length=24)] = None,
    open_only: bool = False,
    since: Instant = None,
    until: Instant = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Orders, most recently changed first; ``since``/``until`` bound their submission."""

    def build() -> dict[str, Any]:
        engine = lh.sql()
        owner = account_of(engine, run, account)
        start, end = naive_utc(since), naive_utc(until)
        filters = {"account": owner, "strategy": strategy, "symbol": symbol, "status": status,
                   "open": open_only, "since": start, "until": end}  # fmt: skip

        def within(row: dict[str, Any]) -> bool:
            submitted = row["submitted_at"]
            if start is None and end is None:
                return True
            if submitted is None:
                return False
            return (start is None or submitted >= start) and (end is None or submitted < end)

        def fetch(count: int) -> list[dict[str, Any]]:
            query = {"account": owner, "strategy": strategy, "symbol": symbol, "status": status}
            if start is None and end is None:
                return orders(engine, **query, open_only=open_only, limit=count)
            rows = orders(engine, **query, open_only=open_only, limit=1_000_000)
            return [row for row in rows if within(row)][:count]

        return paginate(
            fetch, limit=limit, cursor=cursor, filters=filters, encode_row=plain
        ).model_dump()

    return await cached_read(lh, request, build)


@router.get("/trades", response_model=Page)
async def get_trades(
    *,
    request: Request,
    lh: Context,
    principal: Viewer,
    run: Name = None,
    account: Name = None,
    strategy: Name = None,
    symbol: Name = None,
    order_id: Name = None,
    since: Instant = None,
    until: Instant = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Fills in log order (oldest first) within [since, until)."""

    def build() -> dict[str, Any]:
        engine = lh.sql()
        owner = account_of(engine, run, account)
        start, end = naive_utc(since), naive_utc(until)
        query = {"account": owner, "strategy": strategy, "symbol": symbol, "order_id": order_id}
        filters = query | {"since": start, "until": end}

        def fetch(count: int) -> list[dict[str, Any]]:
            return fills(engine, **query, since=start, until=end, limit=count)

        return paginate(
            fetch, limit=limit, cursor=cursor, filters=filters, encode_row=plain
        ).model_dump()

    return await cached_read(lh, request, build)


@router.get("/performance", response_model=Page)
async def get_performance(
    *,
    request: Request,
    lh: Context,
    principal: Viewer,
    run: Name = None,
    account: Name = None,
    strategy: Name = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """Each run's valuation as the read model keeps it: equity, cash, PnL, fees."""

    def build() -> dict[str, Any]:
        engine = lh.sql()
        filters = {"run": run, "account": account, "strategy": strategy}

        def fetch(count: int) -> list[dict[str, Any]]:
            rows = strategy_runs(engine, account=account)
            keep = [
                row
                for row in rows
                if (run is None or row["run_id"] == run)
                and (strategy is None or row["strategy"] == strategy)
            ]
            return keep[:count]

        return paginate(
            fetch, limit=limit, cursor=cursor, filters=filters, encode_row=plain
        ).model_dump()

    return await cached_read(lh, request, build)
