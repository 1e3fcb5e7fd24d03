"""schemathesis against the generated OpenAPI document: no 5xx, and every answer's status,
content type, headers and body as the document says. Bounded here (``LH_API_FUZZ_EXAMPLES``
examples per operation, default 8); docs/api.md has the longer run."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
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


def send(client: TestClient, case: Any, headers: dict[str, str]) -> httpx.Response:
    """The case through httpx (schemathesis's own transport does not work with the
    urllib3 installed here); the same request: method, path, query, headers, body."""
    sent = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    allowed = ("method", "url", "params", "headers", "json")
    kwargs = {name: value for name, value in sent.items() if name in allowed}
    if "data" in sent:
        kwargs["content"] = sent["data"]
    answer: httpx.Response = client.request(**kwargs)
    return answer


def test_the_api_keeps_to_its_openapi_document(admin_key: str) -> None:
    """Every operation, each with ``EXAMPLES`` generated requests sent as an admin (so each
    reaches its route's own checks), every answer checked against the document."""
    api = create_app(bootstrap(), rate=0)
    schema = schemathesis.openapi.from_asgi(f"{PREFIX}/openapi.json", api)
    headers = {"Authorization": f"Bearer {admin_key}"}
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) >= 30
    with TestClient(api, raise_server_exceptions=False) as client:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: Any) -> None:
                case.validate_response(send(client, case, headers), checks=CHECKS)

            check()
