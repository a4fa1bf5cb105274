"""Property-based run against the OpenAPI spec: no 5xx, and every response matches the spec.

Bounded: a fixed number of generated examples per operation. Clerk endpoints get a clerk key, the
rest an admin key, so the generated requests reach the handlers instead of stopping at 401/403.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.api.conftest import Api

EXAMPLES_PER_OPERATION = 12
CLERK_PATHS = re.compile(r"^/v1/(sessions|reverifications|numbers/[^/]+/(registration|transfer))")


@pytest.fixture
def web_schema(api: Api):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", api.app)


schema = schemathesis.pytest.from_fixture("web_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors_and_spec_conformance(case, api: Api) -> None:  # type: ignore[no-untyped-def]
    key = api.clerk_key if CLERK_PATHS.match(case.path) else api.admin_key
    case.call_and_validate(
        headers=api.auth(key),
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
