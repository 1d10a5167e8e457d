"""schemathesis drives every service's OpenAPI: no 5xx, every error a problem+json
that the schema declares, with and without valid credentials."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from callcenter.events.kit.auth import Role, issue_token
from tests.integration.test_service_kit import KEY, SERVICES, make_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded per service, so the run's time does not grow with the API: each operation
# gets its share of the budget, between 15 and 40 examples.
EXAMPLES_PER_SERVICE = 1200
MOST_PER_OPERATION, FEWEST_PER_OPERATION = 40, 15


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_answers_without_server_errors(name, database_url, kafka, tmp_path):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", make_app(name, database_url, kafka, tmp_path)
    )
    token = issue_token(KEY, subject="fuzz", tenant="acme", roles=list(Role))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{name} exposes no operation"
    share = EXAMPLES_PER_SERVICE // len(operations)
    examples = max(FEWEST_PER_OPERATION, min(MOST_PER_OPERATION, share))

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_well(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
            case.call_and_validate(checks=CHECKS)

        answers_well()
