"""``/strategies``: configured paper sessions (strategy, parameters, symbols, limits), kept by
``api.application.sessions``; start runs ``lh paper`` in a child process, stop records an
operator stop."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from api.application.runs import RunConfigError
from api.application.sessions import SessionNotFoundError, SessionStateError, SessionView
from api.http.auth import Admin, Context, Trader, Viewer
from api.http.encoding import plain
from api.http.models import RunBody
from api.http.problems import ProblemError
from projections.queries.current_state import strategy_runs

router = APIRouter(prefix="/strategies", tags=["strategies"])
SessionId = Annotated[str, Path(min_length=1, max_length=64)]


def session_json(session: SessionView) -> dict[str, Any]:
    return {
        "id": session.session_id,
        "status": session.status,
        "pid": session.state.pid if session.state.running else None,
        "returncode": session.state.returncode,
        "created_by": session.created_by,
        "created_at": session.created_at,
        "config": asdict(session.request),
    }


def _guard(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except SessionNotFoundError as error:
        raise ProblemError(404, "Unknown strategy session", str(error)) from None
    except SessionStateError as error:
        raise ProblemError(409, "Conflict", str(error)) from None
    except RunConfigError as error:
        raise ProblemError(422, "Invalid request", str(error)) from None


@router.get("")
def list_sessions(lh: Context, principal: Viewer) -> list[dict[str, Any]]:
    return [session_json(session) for session in lh.sessions.list()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_session(body: RunBody, lh: Context, principal: Admin) -> dict[str, Any]:
    """Configure a session (its id is ``run_id`` if given); it starts on ``/start``."""
    return session_json(_guard(lh.sessions.create, body.request(), principal.owner))


@router.put("/{session_id}")
def update_session(
    session_id: SessionId, body: RunBody, lh: Context, principal: Admin
) -> dict[str, Any]:
    """Replace a stopped session's config."""
    found = _guard(lh.sessions.update, session_id, body.request(), principal.owner)
    return session_json(found)


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(session_id: SessionId, lh: Context, principal: Admin) -> None:
    """Forget a stopped session's config (what it recorded stays in the log)."""
    _guard(lh.sessions.delete, session_id)


@router.post("/{session_id}/start", status_code=status.HTTP_202_ACCEPTED)
def start_session(session_id: SessionId, lh: Context, principal: Trader) -> dict[str, Any]:
    return session_json(_guard(lh.sessions.start, session_id))


@router.post("/{session_id}/stop")
def stop_session(session_id: SessionId, lh: Context, principal: Trader) -> dict[str, Any]:
    return session_json(_guard(lh.sessions.stop, session_id))


@router.get("/{session_id}/performance")
def session_performance(session_id: SessionId, lh: Context, principal: Viewer) -> dict[str, Any]:
    """The session's run as the SQL read model values it (equity, PnL, fees)."""
    found = _guard(lh.sessions.get, session_id)
    runs = [row for row in strategy_runs(lh.sql()) if row["run_id"] == found.session_id]
    return {"id": found.session_id, "status": found.status, "run": plain(runs[0]) if runs else None}
