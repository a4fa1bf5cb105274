"""Property-based run against the OpenAPI spec: no 5xx, and every response matches the spec.

Bounded: a fixed number of generated examples per operation, positive (valid per the schema) and
negative (invalid) data. Clerk endpoints get a clerk key and the rest an admin key, so generated
requests reach the handlers instead of stopping at 401/403.
"""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.api.conftest import Api

EXAMPLES_PER_OPERATION = 10
CLERK_PATHS = re.compile(r"^/v1/(sessions|reverifications|numbers/[^/]+/(registration|transfer))")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _explore(operation, mode: GenerationMode, headers: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """Run the generated cases of one operation; returns how many requests were sent."""
    sent = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:  # type: ignore[no-untyped-def]
        sent.append(case)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    return len(sent)


def test_no_server_errors_and_spec_conformance(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    failures: list[str] = []
    tested = requests = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        key = api.clerk_key if CLERK_PATHS.match(operation.path) else api.admin_key
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                requests += _explore(operation, mode, api.auth(key))
            except Unsatisfiable:
                continue  # no invalid input exists for an operation without parameters
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
            tested += 1
    assert tested >= 30 and requests >= 5 * tested, f"only {requests} requests for {tested} operation/modes"
    assert not failures, "\n\n".join(failures)
