"""``/keys``: API keys, for admins. A new key is in the response once; only its hash is kept."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from api.application.api_keys import ApiKeyError, ApiKeyRecord, Role
from api.http.auth import Admin, Context
from api.http.models import KeyBody
from api.http.problems import ProblemError

router = APIRouter(prefix="/keys", tags=["keys"])


def key_json(record: ApiKeyRecord) -> dict[str, Any]:
    """A key's record without its hash."""
    return {name: value for name, value in asdict(record).items() if name != "sha256"}


@router.get("")
def list_keys(lh: Context, principal: Admin) -> list[dict[str, Any]]:
    return [key_json(record) for record in lh.keys.records()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_key(body: KeyBody, lh: Context, principal: Admin) -> dict[str, Any]:
    """A new key; ``key`` is shown in this response only."""
    try:
        record, key = lh.keys.create(body.owner, Role.parse(body.role))
    except ApiKeyError as error:
        raise ProblemError(422, "Invalid request", str(error)) from None
    return key_json(record) | {"key": key}


@router.delete("/{key_id}")
def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)], lh: Context, principal: Admin
) -> dict[str, Any]:
    try:
        return key_json(lh.keys.revoke(key_id))
    except ApiKeyError as error:
        raise ProblemError(404, "Unknown API key", str(error)) from None
