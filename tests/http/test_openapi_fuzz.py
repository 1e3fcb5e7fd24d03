"""schemathesis against the generated OpenAPI document: no 5xx, and every answer's status,
content type, headers and body as the document says. Bounded here (``LH_API_FUZZ_EXAMPLES``
examples per operation, default 8); docs/api.md has the longer run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.application.api_keys import ApiKeyStore, Role
from api.application.bootstrap import bootstrap
from api.http.app import PREFIX, create_app

EXAMPLES = int(os.environ.get("LH_API_FUZZ_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def admin_key() -> str:
    return ApiKeyStore().create("fuzz", Role.ADMIN)[1]


@pytest.fixture
def api() -> Iterator[FastAPI]:
    yield create_app(bootstrap(), rate=0)


@pytest.fixture
def api_schema(api: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", api)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_to_its_openapi_document(case: schemathesis.Case, admin_key: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_key}"}, checks=CHECKS)
