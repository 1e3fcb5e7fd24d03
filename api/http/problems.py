"""Errors as ``application/problem+json`` (RFC 9457): a status, a one-line title that says
what went wrong, and a detail that says what to do; never a traceback or a secret."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
import sqlalchemy.exc
from eventsourcing.persistence import OperationalError as EventStoreDown
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from adapters.objectstore.s3 import ObjectStoreUnavailableError
from infra.secrets import redact_text
from projections.sql.engine import SqlReadModelError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(BaseModel):
    """The body of every error (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    content = {PROBLEM_JSON: {"schema": Problem.model_json_schema()}}
    return {
        status: {"description": description, "content": content}
        for status, description in DESCRIPTIONS.items()
        if status in statuses
    }


DESCRIPTIONS = {
    401: "No key, or an unknown or revoked key.",
    403: "The key's role is too low.",
    404: "No such route, run, session, job, report or key.",
    409: "The target cannot take this now.",
    422: "A bad body, query or cursor.",
    429: "The key's rate limit; see Retry-After.",
    500: "A bug; the server's log says more.",
    503: "A store is unreachable; see Retry-After.",
}
PROBLEM_RESPONSES = _documented(*DESCRIPTIONS)
"""Every problem any route may answer, documented in the OpenAPI document."""


class ProblemError(Exception):
    """Raised by a route: answered as a problem with this status and title."""

    def __init__(
        self, status: int, title: str, detail: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def problem(
    status: int, title: str, detail: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": redact_text(title), "status": status}
    if detail:
        body["detail"] = redact_text(detail)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


STORE_DOWN = (
    EventStoreDown,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.OperationalError,
    SqlReadModelError,
    ObjectStoreUnavailableError,
    ConnectionError,
)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, error: ProblemError) -> JSONResponse:
        return problem(error.status, error.title, error.detail, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        return problem(422, "Invalid request", f"{where}: {message}")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        title = titles.get(error.status_code, str(error.detail))
        detail = f"no route {request.method} {request.url.path}" if error.status_code < 406 else ""
        headers = dict(error.headers or {})
        return problem(error.status_code, title, detail, headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, STORE_DOWN):
            return problem(
                503,
                "A store is unavailable",
                "the event store or a read model cannot be reached; try again when it is up",
                {"Retry-After": "5"},
            )
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, type(error))
        return problem(500, "Internal error", "the server failed; see its log")
