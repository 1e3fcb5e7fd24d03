"""``/audit`` and ``/reports``: the causation chain of an order or fill and the state at an
instant, both answered from the log itself (``projections.queries.audit``); the reports
``lh report`` filed in the object store, listed and downloaded."""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from adapters.objectstore.base import ObjectNotFoundError
from api.http.auth import Context, Viewer
from api.http.encoding import micros, plain
from api.http.pagination import DEFAULT_LIMIT, Page, paginate
from api.http.problems import ProblemError
from api.http.routes.trading import Cursor, Limit, Name
from domain.events.envelope import RecordedEvent, to_microseconds
from projections.queries.audit import AuditTargetNotFoundError, Clock, state_at, trace

router = APIRouter(tags=["audit"])
REPORTS = "reports/"


def event_json(event: RecordedEvent) -> dict[str, Any]:
    return {
        "position": event.position,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "stream_id": event.stream_id,
        "event_time": micros(event.event_time_us),
        "recorded_time": micros(event.recorded_time_us),
        "actor": event.actor.as_dict(),
        "causation_id": event.causation_id,
        "correlation_id": event.correlation_id,
        "payload_hash": event.payload_hash,
        "data": plain(event.data),
    }


@router.get("/audit/trace")
def audit_trace(
    lh: Context,
    principal: Viewer,
    fill_id: Name = None,
    order_id: Name = None,
    event_id: Name = None,
) -> dict[str, Any]:
    """The causation chain of a fill, an order or any event, effect first, each link's hash
    re-verified: fill -> order -> decision -> signal -> bar. Name exactly one."""
    if sum(value is not None for value in (fill_id, order_id, event_id)) != 1:
        raise ProblemError(
            422, "Invalid request", "name exactly one of fill_id, order_id, event_id"
        )
    with lh.store() as store:
        try:
            chain = trace(store, fill_id=fill_id, order_id=order_id, event_id=event_id)
        except AuditTargetNotFoundError as error:
            raise ProblemError(404, "Not in the log", str(error)) from None
    return {"chain": [event_json(event) for event in chain]}


@router.get("/audit/state")
def audit_state(
    lh: Context,
    principal: Viewer,
    at: Annotated[datetime, Query(description="The instant, ISO 8601 (naive: UTC).")],
    clock: Clock = Clock.EVENT,
) -> dict[str, Any]:
    """Orders, positions and cash from every event at or before ``at`` (on the event clock,
    or on the recorded clock: what the system knew then)."""
    try:
        instant_us = to_microseconds(at if at.tzinfo else at.replace(tzinfo=UTC))
    except OverflowError:
        raise ProblemError(422, "Invalid request", f"at: {at} is out of range") from None
    with lh.store() as store:
        found = state_at(store, instant_us, clock)
    state = found.state
    return {
        "clock": found.clock.value,
        "at": micros(found.instant_us),
        "events": found.events,
        "head": state.head,
        "orders": {
            order_id: {
                "status": str(order.status),
                "filled_quantity": str(order.filled_quantity),
                "symbol": order.symbol,
                "strategy": order.strategy,
            }
            for order_id, order in state.orders.items()
        },
        "positions": [
            {"account": a, "strategy": s, "symbol": y, "quantity": str(quantity)}
            for (a, s, y), quantity in sorted(state.positions.items())
        ],
        "cash": [
            {"account": a, "currency": c, "amount": str(amount)}
            for (a, c), amount in sorted(state.cash.items())
        ],
    }


@router.get("/reports")
def list_reports(
    lh: Context,
    principal: Viewer,
    kind: Name = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page:
    """Filed reports (``lh report``), by key: reports/KIND/OWNER/PERIOD/VARIANT/FILE."""
    prefix = REPORTS + (f"{kind}/" if kind else "")

    def fetch(count: int) -> list[dict[str, Any]]:
        keys = []
        for key in lh.app.object_store.list(prefix):
            keys.append({"key": key})
            if len(keys) >= count:
                break
        return keys

    return paginate(fetch, limit=limit, cursor=cursor, filters={"kind": kind}, encode_row=dict)


@router.get(
    "/reports/{key:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_report(key: str, lh: Context, principal: Viewer) -> Response:
    """One filed report's bytes (key as listed, without the ``reports/`` prefix or with it)."""
    full = key if key.startswith(REPORTS) else REPORTS + key
    if ".." in full.split("/"):
        raise ProblemError(404, "No such report", f"no report {key!r}")
    try:
        data = lh.app.object_store.get(full)
    except (ObjectNotFoundError, ValueError, OSError):
        raise ProblemError(404, "No such report", f"no report {key!r} (see GET /reports)") from None
    media = mimetypes.guess_type(full)[0] or "application/octet-stream"
    name = full.rsplit("/", 1)[-1]
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
