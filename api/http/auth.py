"""The role each route requires, as a dependency: ``Depends(VIEWER)`` etc. It reads the key
from ``Authorization: Bearer KEY`` or ``X-API-Key``, answers 401 (no or bad key), 403 (a
role too low) or 429 (the key's rate limit), and hands the route its ``Principal``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.http.context import HttpContext, context
from api.http.problems import ProblemError
from api.http.security import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")


class RoleGuard:
    """A dependency admitting keys of ``role`` or above. It runs on the event loop (no worker
    thread): the key file is re-read only when it changed, so a check costs a ``stat``."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(
        self,
        request: Request,
        lh: Annotated[HttpContext, Depends(context)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> Principal:
        admitted = getattr(request.state, "principal", None)  # by the fast path (authenticated)
        if isinstance(admitted, Principal):
            return self._check_role(request, admitted)
        key = bearer.credentials if bearer is not None else header
        principal = lh.keys.authenticate(key) if key else None
        if principal is None:
            raise ProblemError(
                401,
                "Not authenticated",
                "send a valid API key: Authorization: Bearer KEY (see `lh keys api create`)",
                {"WWW-Authenticate": "Bearer"},
            )
        wait = lh.limiter.take(principal.key_id)
        if wait > 0:
            raise ProblemError(
                429,
                "Too many requests",
                "this key's rate limit is reached; retry after the given seconds",
                {"Retry-After": lh.limiter.retry_after(wait)},
            )
        return self._check_role(request, principal)

    def _check_role(self, request: Request, principal: Principal) -> Principal:
        if principal.role < self.role:
            raise ProblemError(
                403,
                "Forbidden",
                f"this needs the {self.role.name.lower()} role; the key has "
                f"{principal.role.name.lower()}",
            )
        request.state.principal = principal
        return principal


VIEWER = RoleGuard(Role.VIEWER)
TRADER = RoleGuard(Role.TRADER)
ADMIN = RoleGuard(Role.ADMIN)
Viewer = Annotated[Principal, Depends(VIEWER)]
Trader = Annotated[Principal, Depends(TRADER)]
Admin = Annotated[Principal, Depends(ADMIN)]
Context = Annotated[HttpContext, Depends(context)]
