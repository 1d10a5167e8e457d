"""schemathesis drives every service's OpenAPI: no 5xx, every error a problem+json
that the schema declares, with and without valid credentials; then statefully,
chaining operations through the OpenAPI links the routes declare, so that what
one creates the next reads, changes or deletes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, Response
from schemathesis.checks import (
    CheckContext,
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
# gets its share of the budget, between 10 and 25 examples (each sent with a token and
# without one). The budget is the suite's largest after the platform tests.
EXAMPLES_PER_SERVICE = 600
MOST_PER_OPERATION, FEWEST_PER_OPERATION = 25, 10
# Chained through the OpenAPI links the routes declare (creating a resource, then
# reading, changing or deleting it). Analytics creates nothing another operation reads;
# the IVR's flows are graphs a generated document never makes valid, and its calls
# need a number bound to such a flow. Bounded: about 120 calls per service.
CHAINED_SERVICES = ["routing", "crm", "workorders"]
SCENARIOS, STEPS_PER_SCENARIO = 15, 8


def client_errors_are_problems(ctx: CheckContext, response: Response, case: Case) -> None:
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), (
            f"{case.operation.label}: {response.status_code} is {content_type!r}"
        )


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


@pytest.mark.parametrize("name", CHAINED_SERVICES)
def test_chained_operations_answer_without_server_errors(name, database_url, kafka, tmp_path):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", make_app(name, database_url, kafka, tmp_path)
    )
    # The declared links only: inferred ones chain operations by parameter names alone.
    schema.config.phases.stateful.inference.algorithms = []
    token = issue_token(KEY, subject="fuzz", tenant="acme", roles=list(Role))

    class Chains(schema.as_state_machine()):
        def before_call(self, case: Case) -> None:
            # Replaces any Authorization the generator drew, so every step gets in.
            headers = {
                name: value
                for name, value in (case.headers or {}).items()
                if name.lower() != "authorization"
            }
            case.headers = {**headers, "Authorization": f"Bearer {token}"}

        def validate_response(self, response: Response, case: Case, **kwargs) -> None:
            checks = [*CHECKS, client_errors_are_problems]
            case.validate_response(response, checks=checks, transport_kwargs=kwargs)

    Chains.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS_PER_SCENARIO,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
