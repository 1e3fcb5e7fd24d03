"""An API over a fresh embedded setup (``LH_VAR_DIR`` per test) and one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from api.http.app import create_app

KEY_ROLES = (Role.VIEWER, Role.TRADER, Role.ADMIN)


@pytest.fixture
def role_keys() -> dict[Role, str]:
    """A key for each role; owners are named after the role (``viewer-owner``...)."""
    store = ApiKeyStore()
    return {role: store.create(f"{role.name.lower()}-owner", role)[1] for role in KEY_ROLES}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(bootstrap(), rate=0), raise_server_exceptions=False) as test:
        yield test


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
