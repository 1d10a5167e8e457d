"""Authentication and the role table, route by route, for every service.

- Every operation of every app's OpenAPI (health excepted) without a token, with a
  forged, an expired, a tenant-less or a wrong-audience token: 401 problem+json with a
  ``WWW-Authenticate: Bearer`` challenge.
- The role table below (as docs/<service>.md documents it): each role of ``ROLES[op]``
  gets past authorization (any answer but 401/403), every other role a 403
  problem+json. A route missing from the table, or a table row naming no route, fails.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import ALGORITHM, ISSUER, Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.workorders.app import create_app as create_workorders
from callcenter.workorders.settings import Settings as WorkordersSettings
from tests.integration.test_service_kit import KEY, SERVICES, make_app
from tests.security.routes import Operation, operations
from tests.security.test_tenant_isolation import SCENARIOS

AGENT, SUP, ADMIN, INTEGRATOR = Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATOR
ANY = frozenset(Role)
STAFF = frozenset({SUP, ADMIN})
# "the agent itself" rows: tokens here are the agent's own (subject = the agent_id used).
SELF = "a-agent"

# docs/<service>.md, route by route ("the agent itself": an agent's own token; see OWN).
ROLES: dict[str, dict[str, set[Role] | frozenset[Role]]] = {}
ROLES["routing"] = {
    "GET /v1/events": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/queues/{queue_id}": ANY,
    "PUT /v1/queues/{queue_id}": STAFF,
    "DELETE /v1/queues/{queue_id}": STAFF,
    "GET /v1/queues": ANY,
    "GET /v1/queues/{queue_id}/live": ANY,
    "GET /v1/agents/{agent_id}": ANY,
    "PUT /v1/agents/{agent_id}": STAFF,
    "GET /v1/agents": ANY,
    "POST /v1/agents/{agent_id}/login": {ADMIN, AGENT, SUP},
    "POST /v1/agents/{agent_id}/ready": {ADMIN, AGENT, SUP},
    "POST /v1/agents/{agent_id}/not-ready": {ADMIN, AGENT, SUP},
    "POST /v1/agents/{agent_id}/logout": {ADMIN, AGENT, SUP},
    "POST /v1/agents/{agent_id}/wrap-up-done": {ADMIN, AGENT, SUP},
    "POST /v1/calls": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/calls/{call_id}": ANY,
    "POST /v1/calls/{call_id}/answer": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/reject": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/hangup": ANY,
    "POST /v1/calls/{call_id}/callback": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/callbacks": ANY,
    "POST /v1/calls/{call_id}/hold": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/resume": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/mute": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/unmute": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/transfer": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/consult": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/consult/complete": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/consult/cancel": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/conference": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/conference/leave": {ADMIN, AGENT, SUP},
    "POST /v1/calls/{call_id}/disposition": {ADMIN, AGENT, SUP},
    "GET /v1/settings": ANY,
    "PUT /v1/settings": STAFF,
    "GET /v1/console/config": ANY,
    "GET /v1/agents/{agent_id}/desk": ANY,
    "GET /v1/floor": STAFF,
    "POST /v1/calls/{call_id}/monitor": STAFF,
    "POST /v1/calls/{call_id}/whisper": STAFF,
    "POST /v1/calls/{call_id}/barge": STAFF,
    "POST /v1/calls/{call_id}/takeover": STAFF,
    "POST /v1/calls/{call_id}/supervisor/leave": STAFF,
    "GET /v1/campaigns": ANY,
    "POST /v1/campaigns": STAFF,
    "GET /v1/campaigns/{campaign_id}": ANY,
    "PUT /v1/campaigns/{campaign_id}": STAFF,
    "GET /v1/campaigns/{campaign_id}/progress": ANY,
    "GET /v1/campaigns/{campaign_id}/calls": ANY,
    "POST /v1/campaigns/{campaign_id}/contacts": STAFF,
    "POST /v1/campaigns/{campaign_id}/start": STAFF,
    "POST /v1/campaigns/{campaign_id}/pause": STAFF,
    "POST /v1/campaigns/{campaign_id}/resume": STAFF,
    "POST /v1/campaigns/{campaign_id}/contacts/{contact_id}/dial": {ADMIN, AGENT, SUP},
    "GET /v1/dnc": STAFF,
    "PUT /v1/dnc": STAFF,
    "GET /v1/agents/{agent_id}/desk/stream": ANY,
    "GET /v1/floor/stream": STAFF,
}
ROLES["ivr"] = {
    "GET /v1/events": {ADMIN, INTEGRATOR, SUP},
    "POST /v1/calls": {ADMIN, INTEGRATOR},
    "POST /v1/calls/{call_id}/input": {ADMIN, INTEGRATOR},
    "POST /v1/calls/{call_id}/recording": {ADMIN, INTEGRATOR},
    "POST /v1/calls/{call_id}/hangup": {ADMIN, INTEGRATOR},
    "GET /v1/calls/{call_id}": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/calls/{call_id}/hold": {ADMIN, INTEGRATOR},
    "GET /v1/calls/{call_id}/next": {ADMIN, INTEGRATOR},
    "POST /v1/calls/{call_id}/outbound-status": {ADMIN, INTEGRATOR},
    "GET /v1/survey-policies/{queue_id}": {ADMIN, INTEGRATOR, SUP},
    "PUT /v1/survey-policies/{queue_id}": {ADMIN, INTEGRATOR},
    "GET /v1/recording-settings": {ADMIN, INTEGRATOR, SUP},
    "PUT /v1/recording-settings": {ADMIN},
    "GET /v1/recordings/{recording_id}": STAFF,
    "GET /v1/recordings/{recording_id}/audit": {ADMIN},
    "POST /v1/recordings/{recording_id}/stopped": {ADMIN, INTEGRATOR},
    "GET /v1/flows/{flow_id}": {ADMIN, INTEGRATOR, SUP},
    "PUT /v1/flows/{flow_id}": {ADMIN, INTEGRATOR},
    "GET /v1/flow-schema": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/flows/{flow_id}/versions/{version}": {ADMIN, INTEGRATOR, SUP},
    "POST /v1/flows/{flow_id}/simulate": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/numbers/{number}": {ADMIN, INTEGRATOR, SUP},
    "PUT /v1/numbers/{number}": {ADMIN, INTEGRATOR},
    "GET /v1/telephony": {ADMIN, INTEGRATOR},
    "PUT /v1/telephony": {ADMIN, INTEGRATOR},
}
ROLES["crm"] = {
    "GET /v1/events": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/customers": ANY,
    "POST /v1/customers": ANY,
    "GET /v1/customers/{customer_id}": ANY,
    "PATCH /v1/customers/{customer_id}": ANY,
    "DELETE /v1/customers/{customer_id}": {ADMIN},
    "POST /v1/customers/{customer_id}/merge": STAFF,
    "GET /v1/screen-pop/{call_id}": ANY,
    "POST /v1/customers/{customer_id}/notes": ANY,
    "POST /v1/customers/{customer_id}/interactions": ANY,
    "GET /v1/customers/{customer_id}/timeline": ANY,
    "GET /v1/customers/{customer_id}/export": {ADMIN},
    "GET /v1/segments": ANY,
    "GET /v1/segment-rules": STAFF,
    "PUT /v1/segment-rules": {ADMIN},
    "GET /v1/kb/categories": {ADMIN, AGENT, SUP},
    "POST /v1/kb/categories": STAFF,
    "PATCH /v1/kb/categories/{category_id}": STAFF,
    "DELETE /v1/kb/categories/{category_id}": STAFF,
    "GET /v1/kb/articles": {ADMIN, AGENT, SUP},
    "POST /v1/kb/articles": STAFF,
    "GET /v1/kb/articles/{article_id}": {ADMIN, AGENT, SUP},
    "PATCH /v1/kb/articles/{article_id}": STAFF,
    "POST /v1/kb/articles/{article_id}/publish": STAFF,
    "POST /v1/kb/articles/{article_id}/archive": STAFF,
    "GET /v1/kb/articles/{article_id}/versions": {ADMIN, AGENT, SUP},
    "GET /v1/kb/articles/{article_id}/versions/{version}": {ADMIN, AGENT, SUP},
    "GET /v1/kb/articles/{article_id}/related": {ADMIN, AGENT, SUP},
    "GET /v1/kb/search": {ADMIN, AGENT, SUP},
    "GET /v1/kb/favorites": {ADMIN, AGENT, SUP},
    "PUT /v1/kb/favorites/{article_id}": {ADMIN, AGENT, SUP},
    "DELETE /v1/kb/favorites/{article_id}": {ADMIN, AGENT, SUP},
}
ROLES["workorders"] = {
    "GET /v1/events": {ADMIN, INTEGRATOR, SUP},
    "GET /v1/tickets": ANY,
    "POST /v1/tickets": ANY,
    "GET /v1/tickets/{ticket_id}": ANY,
    "POST /v1/tickets:dispatch": ANY,  # per ticket, as the dispatch transition
    # per the workflow: each transition names its roles, checked on the ticket
    "POST /v1/tickets/{ticket_id}/{action}": ANY,
    "GET /v1/ticket-types": ANY,
    "PUT /v1/ticket-types/{name}": STAFF,
    "GET /v1/ticket-rules": ANY,
    "PUT /v1/ticket-rules/{trigger}": STAFF,
}
ROLES["analytics"] = {
    "GET /v1/kpis": ANY,
    "GET /v1/live": ANY,
    "GET /v1/settings": ANY,
    "PUT /v1/settings": STAFF,
    "POST /v1/agents/{agent_id}/exam-scores": STAFF,
    "GET /v1/scorecards": STAFF,
    "GET /v1/staffing/erlang-c": ANY,
    "GET /v1/staffing/forecast": ANY,
    "GET /v1/live/stream": ANY,
}

# Twilio's webhooks carry no bearer token: Twilio signs them (X-Twilio-Signature with
# the tenant's auth token), see test_webhooks.py.
TWILIO = ["voice", "gather", "recording", "status", "wait", "next", "recording-status"]
TWILIO += [f"outbound/{step}" for step in ("answer", "status", "wait", "next", "gather")]
NOT_BEARER = {"ivr": {f"POST /v1/twilio/{step}" for step in TWILIO}}

# Routes an agent may call for itself only: another agent's token is refused (403).
OWN = {
    "routing": {
        key
        for key, roles in ROLES["routing"].items()
        if roles == {ADMIN, AGENT, SUP}  # the agent itself, supervisor, admin
    }
    | {"GET /v1/agents/{agent_id}/desk", "GET /v1/agents/{agent_id}/desk/stream"},
}


def _token(roles, **claims) -> str:
    return issue_token(KEY, subject=SELF, tenant="acme", roles=roles, **claims)


def _raw(claims: dict, key: str = KEY) -> str:
    return jwt.encode(claims, key, algorithm=ALGORITHM)


NOW = datetime.now(UTC)
GOOD_CLAIMS = {
    "iss": ISSUER,
    "sub": "eve",
    "tenant": "acme",
    "roles": ["admin"],
    "iat": int(NOW.timestamp()),
    "exp": int((NOW + timedelta(hours=1)).timestamp()),
}
BAD_TOKENS = {
    "none": None,
    "empty": "",
    "garbage": "not-a-jwt",
    "forged": issue_token(
        "another-key-of-32-bytes-or-more!!", subject="eve", tenant="acme", roles=[Role.ADMIN]
    ),
    "expired": issue_token(
        KEY, subject="eve", tenant="acme", roles=[Role.ADMIN], now=NOW - timedelta(hours=2)
    ),
    "no tenant": _raw({k: v for k, v in GOOD_CLAIMS.items() if k != "tenant"}),
    "empty tenant": _raw({**GOOD_CLAIMS, "tenant": ""}),
    "unknown role": _raw({**GOOD_CLAIMS, "roles": ["root"]}),
    "no roles": _raw({**GOOD_CLAIMS, "roles": []}),
    "other issuer": _raw({**GOOD_CLAIMS, "iss": "someone-else"}),
    "wrong audience": issue_token(
        KEY, subject="eve", tenant="acme", roles=[Role.ADMIN], audience="another-platform"
    ),
    "alg none": jwt.encode(GOOD_CLAIMS, None, algorithm="none"),
}


def _values(name: str) -> dict[str, str]:
    return {**SCENARIOS[name].absent, "agent_id": SELF}


def _call(client: TestClient, name: str, op: Operation, token: str | None):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    query = {}
    if op.path.endswith("/stream"):  # EventSource cannot send headers: a query parameter
        query = {"access_token": token} if token else {}
    body = SCENARIOS[name].bodies.get(op.key, {})
    return client.request(
        op.method, op.url(_values(name)), json=body, headers=headers, params=query
    )


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """Authentication and roles are checked before any query: one backend is enough."""
    return f"sqlite:///{tmp_path / 'test.db'}"


def _is_problem(response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


# Every token the kit must refuse, on one route per service; on every route, these:
EVERY_ROUTE = ("none", "forged", "expired")


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_refuses_missing_forged_and_expired_tokens(name, sqlite_url, kafka, tmp_path):
    with TestClient(make_app(name, sqlite_url, kafka, tmp_path)) as client:
        failures = []
        ops = [op for op in operations(client.app) if op.key not in NOT_BEARER.get(name, ())]
        for n, op in enumerate(ops):
            for why, token in BAD_TOKENS.items():
                if n and why not in EVERY_ROUTE:
                    continue
                response = _call(client, name, op, token)
                if response.status_code != 401 or not _is_problem(response):
                    failures.append(f"{op.key} with {why} token: {response.status_code}")
                elif not op.path.endswith("/stream") and not response.headers.get(
                    "www-authenticate", ""
                ).startswith("Bearer"):
                    failures.append(f"{op.key} with {why} token: no Bearer challenge")
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_lets_in_exactly_the_documented_roles(name, sqlite_url, kafka, tmp_path):
    with TestClient(make_app(name, sqlite_url, kafka, tmp_path)) as client:
        ops = [op for op in operations(client.app) if op.key not in NOT_BEARER.get(name, ())]
        table = ROLES[name]
        assert sorted(op.key for op in ops) == sorted(table), "the role table is out of date"
        table = ROLES.get(name, {})
        observed, failures = {}, []
        # Event streams last, with the app closing: a stream one may open ends at once.
        ops.sort(key=lambda op: op.path.endswith("/stream"))
        for op in ops:
            if op.path.endswith("/stream"):
                client.app.state.runtime.closing.set()
            allowed = set()
            for role in Role:
                response = _call(client, name, op, _token([role]))
                if response.status_code not in (401, 403):
                    allowed.add(role)
                elif response.status_code == 403 and not _is_problem(response):
                    failures.append(f"{op.key} as {role}: 403 without problem+json")
            observed[op.key] = allowed
            if allowed != set(table.get(op.key, ())):
                failures.append(
                    f"{op.key}: lets in {sorted(allowed)}, documented {table.get(op.key)}"
                )
        other = issue_token(KEY, subject="someone-else", tenant="acme", roles=[AGENT])
        for op in ops:
            if op.key in OWN.get(name, ()):
                response = _call(client, name, op, other)
                if response.status_code != 403 or not _is_problem(response):
                    failures.append(f"{op.key} as another agent: {response.status_code}")
        if os.environ.get("PRINT_ROLES"):
            for key, allowed in observed.items():
                print(f'        "{key}": {sorted(r.value for r in allowed)},')
        assert not failures, "\n".join(failures)


def test_a_service_with_an_audience_wants_it_in_every_token(database_url, kafka, tmp_path):
    """CALLCENTER_JWT_AUDIENCE: tokens must name it; unset (the default), tokens name none."""
    upgrade("callcenter.workorders", database_url)
    settings = WorkordersSettings(database_url=database_url, kafka=kafka, data_dir=tmp_path,
                                  signing_key=KEY, jwt_audience="callcenter-prod")  # fmt: skip
    mine = issue_token(KEY, subject="sam", tenant="acme", roles=[SUP], audience="callcenter-prod")
    with TestClient(create_workorders(settings)) as client:
        for token, status in [
            (mine, 200),
            (issue_token(KEY, subject="sam", tenant="acme", roles=[SUP]), 401),
            (BAD_TOKENS["wrong audience"], 401),
        ]:
            answer = client.get("/v1/tickets", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == status, answer.text
    with TestClient(make_app("workorders", database_url, kafka, tmp_path)) as client:
        answer = client.get("/v1/tickets", headers={"Authorization": f"Bearer {mine}"})
        assert answer.status_code == 401  # meant for another audience than this one's (none)
