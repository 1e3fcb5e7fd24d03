"""``/system``: start or stop every configured session, the server's status and health (the
event store, each read model's lag behind the log, each session)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.application.sessions import SessionStateError
from api.http.auth import Admin, Context, Viewer
from api.http.cached import JSON
from api.http.problems import STORE_DOWN
from infra.secrets import redact_text

router = APIRouter(prefix="/system", tags=["system"])


@router.post("/start")
def start_all(lh: Context, principal: Admin) -> dict[str, list[str]]:
    """Start every configured session that is not running."""
    started = []
    for session in lh.sessions.list():
        if not session.state.running:
            lh.sessions.start(session.session_id)
            started.append(session.session_id)
    return {"started": started}


@router.post("/stop")
def stop_all(lh: Context, principal: Admin) -> dict[str, list[str]]:
    """Stop every running session (each records an operator stop)."""
    stopped = []
    for session in lh.sessions.list():
        if session.state.running:
            try:
                lh.sessions.stop(session.session_id)
            except SessionStateError:
                continue  # it ended on its own meanwhile
            stopped.append(session.session_id)
    return {"stopped": stopped}


@router.get("/status", response_model=dict[str, Any])
async def status(lh: Context, principal: Viewer) -> Response:
    """The log's head and how many sessions run: cheap enough to poll (one read of them serves
    every request waiting at once, on the worker's long-lived store)."""
    snapshot = await lh.status.current()
    return Response(orjson.dumps(snapshot.body(principal)), media_type=JSON)


@router.get("/health", responses={503: {"description": "The event store is down."}})
def health(lh: Context, principal: Viewer) -> JSONResponse:
    """The event store, each read model's checkpoint and lag, each session: 200 when the
    store answers (``degraded`` if a read model does not), else 503."""
    body: dict[str, Any] = {"status": "ok"}
    try:
        head = lh.head()
        body["event_store"] = {"status": "ok", "head": head}
    except STORE_DOWN as error:
        body["status"] = "down"
        body["event_store"] = {"status": "down", "error": redact_text(str(error))}
        return JSONResponse(body, status_code=503)
    models: dict[str, Any] = {}
    for name in lh.model_names():
        try:  # opened once per worker, then only asked for its checkpoint
            checkpoint = lh.model(name).checkpoint()
            models[name] = {"checkpoint": checkpoint, "lag": max(0, head - checkpoint)}
        except Exception as error:  # a read model that cannot answer is reported, not raised
            models[name] = {"error": redact_text(str(error).splitlines()[0])}
            body["status"] = "degraded"
    body["read_models"] = models
    body["sessions"] = [
        {"id": session.session_id, "status": session.status} for session in lh.sessions.list()
    ]
    return JSONResponse(body)
