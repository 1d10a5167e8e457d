"""Tenant isolation, service by service: tenant A's resources are created through the
API, then tenant B, with a token of every role (and one with all of them), calls every
operation that takes an id (read, list, change, delete) with A's ids.

- A's ids answer as ids that never existed do (same status): B cannot infer A's data;
  with all roles, that answer is 404 (not 403, not 200), except for the documented
  ``UPSERTS`` (B writes its own resource of that name) and ``EXEMPT`` routes.
- No list or read B makes shows any of A's ids or marker strings.
- Nothing of A changed: A's reads answer the same before and after.

The operations come from each app's OpenAPI, so a new route is in the matrix at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from tests.integration.test_service_kit import KEY, make_app
from tests.security.routes import Operation, operations

A, B = "acme", "globex"
MARKER = "Zebulon-Acme-Secret"  # in A's names and texts: B must never read it


def token(tenant: str, roles: list[Role], subject: str = "sam") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=roles)}"
    }


ALL = list(Role)
A_ALL = token(A, ALL)
B_TOKENS = {role.value: token(B, [role]) for role in Role} | {"all": token(B, ALL)}


def ok(response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201, 204)), response.text
    return response.json() if response.content else None


@dataclass
class Scenario:
    seed: Callable[[TestClient], dict[str, str]]  # A's resources; the path values naming them
    absent: dict[str, str]  # path values naming nothing
    bodies: dict[str, Any] = field(default_factory=dict)  # B's well-formed bodies, by op key
    reads: list[str] = field(default_factory=list)  # A's reads compared before and after
    volatile: frozenset[str] = frozenset()  # keys of A's reads that change with time


# Routes where B may write a resource of its own under the same name: configuration
# keyed by a name the caller chooses (a queue's id, a flow's id, a ticket type...).
# B's write lands in B's tenant; A's reads prove nothing of A changed.
UPSERTS = {
    "routing": {
        "PUT /v1/queues/{queue_id}",
        "PUT /v1/agents/{agent_id}",
        "PUT /v1/campaigns/{campaign_id}",
    },
    "ivr": {"PUT /v1/flows/{flow_id}", "PUT /v1/survey-policies/{queue_id}"},
    "crm": {"PUT /v1/kb/favorites/{article_id}", "DELETE /v1/kb/favorites/{article_id}"},
    "workorders": {"PUT /v1/ticket-types/{name}", "PUT /v1/ticket-rules/{trigger}"},
    "analytics": {"POST /v1/agents/{agent_id}/exam-scores"},
}
# Routes that cannot show the 404 rule, and why (each is still checked: A's id answers
# as an absent one does, and A's data is unchanged).
EXEMPT = {
    # A phone number routes calls to one tenant: binding one that another tenant holds
    # is a 409 (it says the number is taken, nothing of the holder).
    "PUT /v1/numbers/{number}": "numbers are global",
    # Favorites: adding another tenant's article id is a 404 like any unknown article;
    # removing an absent favorite is a 204 by design (idempotent), whoever's id it is.
    "DELETE /v1/kb/favorites/{article_id}": "idempotent removal of the caller's own favorite",
    # Rules are keyed by a trigger of the catalogue, not by a resource.
    "PUT /v1/ticket-rules/{trigger}": "a trigger is not a resource",
}
# Ids A cannot create through its own API in-process (they come from other services'
# events): the matrix still asks for them, so B gets the same answer as for any absent id.
# - ivr recording_id: a recording starts on routing's CallAnswered (services/ivr/tests/
#   api/test_recordings.py covers another tenant's 404 through the broker).
# - crm screen-pop call_id: a card is built from the IVR's CallArrived.
NOT_SEEDED = {"ivr": {"recording_id"}, "crm": {"call_id"}}


# --- routing ---------------------------------------------------------------------------


def seed_routing(client: TestClient) -> dict[str, str]:
    queue = {"name": f"{MARKER} queue", "skills": {"general": 1}}
    ok(client.put("/v1/queues/a-queue", json=queue, headers=A_ALL))
    agent = {"name": f"{MARKER} agent", "skills": {"general": 5}}
    ok(client.put("/v1/agents/a-agent", json=agent, headers=A_ALL))
    me = token(A, [Role.AGENT], subject="a-agent")
    ok(client.post("/v1/agents/a-agent/login", headers=me))
    call = {"call_id": "a-call", "queue_id": "a-queue", "ani": "+33628000001"}
    ok(client.post("/v1/calls", json=call, headers=A_ALL))
    campaign = {"campaign_id": "a-camp", "queue_id": "a-queue", "name": f"{MARKER} campaign"}
    ok(client.post("/v1/campaigns", json=campaign, headers=A_ALL))
    contacts = [{"contact_id": "a-contact", "number": "+33612345609"}]
    ok(client.post("/v1/campaigns/a-camp/contacts", json=contacts, headers=A_ALL))
    return {
        "queue_id": "a-queue",
        "agent_id": "a-agent",
        "call_id": "a-call",
        "campaign_id": "a-camp",
        "contact_id": "a-contact",
    }


AGENT_BODY = {"agent_id": "a-agent"}
ROUTING = Scenario(
    seed=seed_routing,
    absent={
        "queue_id": "z-queue",
        "agent_id": "z-agent",
        "call_id": "z-call",
        "campaign_id": "z-camp",
        "contact_id": "z-contact",
    },
    bodies={
        "PUT /v1/queues/{queue_id}": {"skills": {"general": 1}},
        "PUT /v1/agents/{agent_id}": {"skills": {"general": 1}},
        "PUT /v1/campaigns/{campaign_id}": {"queue_id": "a-queue"},
        "POST /v1/agents/{agent_id}/not-ready": {"reason": "lunch"},
        "POST /v1/calls/{call_id}/answer": AGENT_BODY,
        "POST /v1/calls/{call_id}/reject": AGENT_BODY,
        "POST /v1/calls/{call_id}/hangup": {"by": "caller"},
        "POST /v1/calls/{call_id}/callback": {"number": "+33628000009"},
        "POST /v1/calls/{call_id}/hold": AGENT_BODY,
        "POST /v1/calls/{call_id}/resume": AGENT_BODY,
        "POST /v1/calls/{call_id}/mute": AGENT_BODY,
        "POST /v1/calls/{call_id}/unmute": AGENT_BODY,
        "POST /v1/calls/{call_id}/transfer": {**AGENT_BODY, "to_queue_id": "a-queue"},
        "POST /v1/calls/{call_id}/consult": {**AGENT_BODY, "to_agent_id": "a-agent"},
        "POST /v1/calls/{call_id}/consult/complete": AGENT_BODY,
        "POST /v1/calls/{call_id}/consult/cancel": AGENT_BODY,
        "POST /v1/calls/{call_id}/conference": {**AGENT_BODY, "party_agent_id": "a-agent"},
        "POST /v1/calls/{call_id}/conference/leave": AGENT_BODY,
        "POST /v1/calls/{call_id}/disposition": {**AGENT_BODY, "disposition": "sale"},
        "POST /v1/campaigns/{campaign_id}/contacts": [{"number": "+33612345601"}],
        "POST /v1/campaigns/{campaign_id}/contacts/{contact_id}/dial": AGENT_BODY,
    },
    reads=[
        "/v1/queues/a-queue",
        "/v1/calls/a-call",
        "/v1/campaigns/a-camp",
        "/v1/campaigns/a-camp/progress",
        "/v1/queues",
        "/v1/agents",
    ],
    volatile=frozenset(
        {
            "since",
            "time_in_state",
            "waited",
            "ewt",
            "state_seconds",
            "now",
            "as_of",
            "idle_seconds",
            "seconds_in_state",
        }
    ),
)


# --- ivr -------------------------------------------------------------------------------

FLOW = {
    "name": f"{MARKER} line",
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "say", "prompts": ["Hello."], "next": "menu"},
        "menu": {
            "type": "menu",
            "prompts": ["Press 1."],
            "choices": {"1": "bye"},
            "invalid_prompts": ["Invalid."],
            "no_input_prompts": ["Nothing."],
            "max_attempts": 2,
            "on_failure": "bye",
        },
        "bye": {"type": "hangup", "prompts": ["Goodbye."]},
    },
}
SURVEY = {"sample_rate": 0.5, "questions": [{"id": "ok", "prompt": f"{MARKER}?"}], "channel": "ivr"}


def seed_ivr(client: TestClient) -> dict[str, str]:
    ok(client.put("/v1/flows/a-flow", json=FLOW, headers=A_ALL))
    ok(client.put("/v1/numbers/+15550101", json={"flow_id": "a-flow", "version": 1}, headers=A_ALL))
    call = {"from": "+33612345678", "to": "+15550101", "call_id": "a-call"}
    ok(client.post("/v1/calls", json=call, headers=A_ALL))
    ok(client.put("/v1/survey-policies/a-queue", json=SURVEY, headers=A_ALL))
    return {
        "flow_id": "a-flow",
        "version": "1",
        "number": "+15550101",
        "call_id": "a-call",
        "queue_id": "a-queue",
        "recording_id": "a-recording",
    }


IVR = Scenario(
    seed=seed_ivr,
    absent={
        "flow_id": "z-flow",
        "version": "1",
        "number": "+15550199",
        "call_id": "z-call",
        "queue_id": "z-queue",
        "recording_id": "z-recording",
    },
    bodies={
        "PUT /v1/flows/{flow_id}": {**FLOW, "name": "theirs"},
        "PUT /v1/numbers/{number}": {"flow_id": "z-flow", "version": 1},
        "POST /v1/flows/{flow_id}/simulate": {"inputs": []},
        "POST /v1/calls/{call_id}/input": {"digits": "1"},
        "POST /v1/calls/{call_id}/recording": {
            "recording_url": "https://example.com/a.wav",
            "duration": 3,
        },
        "POST /v1/calls/{call_id}/outbound-status": {"status": "completed"},
        "PUT /v1/survey-policies/{queue_id}": {**SURVEY, "questions": [{"id": "q", "prompt": "?"}]},
        "POST /v1/recordings/{recording_id}/stopped": {
            "uri": "https://example.com/r.wav",
            "duration": 3,
        },
    },
    reads=[
        "/v1/flows/a-flow",
        "/v1/numbers/+15550101",
        "/v1/calls/a-call",
        "/v1/survey-policies/a-queue",
    ],
)


# --- crm -------------------------------------------------------------------------------


def seed_crm(client: TestClient) -> dict[str, str]:
    customer = {
        "first_name": MARKER,
        "last_name": "Customer",
        "phones": ["+33612345678"],
        "emails": ["zebulon@acme.example"],
    }
    customer_id = ok(client.post("/v1/customers", json=customer, headers=A_ALL))["id"]
    note = {"text": f"{MARKER} note"}
    ok(client.post(f"/v1/customers/{customer_id}/notes", json=note, headers=A_ALL))
    category = {"name": f"{MARKER} category"}
    category_id = ok(client.post("/v1/kb/categories", json=category, headers=A_ALL))["id"]
    article = {
        "category_id": category_id,
        "title": f"{MARKER} article",
        "body": f"{MARKER} body",
        "publish": True,
    }
    article_id = ok(client.post("/v1/kb/articles", json=article, headers=A_ALL))["id"]
    ok(client.put(f"/v1/kb/favorites/{article_id}", headers=A_ALL))
    return {
        "customer_id": customer_id,
        "category_id": category_id,
        "article_id": article_id,
        "version": "1",
        "call_id": "a-call",
    }


CRM = Scenario(
    seed=seed_crm,
    absent={
        "customer_id": "00000000-0000-4000-8000-000000000000",
        "category_id": "00000000-0000-4000-8000-000000000001",
        "article_id": "00000000-0000-4000-8000-000000000002",
        "version": "1",
        "call_id": "z-call",
    },
    bodies={
        "PATCH /v1/customers/{customer_id}": {"tier": "small"},
        "POST /v1/customers/{customer_id}/merge": {
            "merged_id": "00000000-0000-4000-8000-000000000003"
        },
        "POST /v1/customers/{customer_id}/notes": {"text": "hello"},
        "POST /v1/customers/{customer_id}/interactions": {"channel": "sms", "direction": "inbound"},
        "PATCH /v1/kb/categories/{category_id}": {"name": "renamed"},
        "PATCH /v1/kb/articles/{article_id}": {"title": "renamed"},
    },
    reads=[
        "/v1/customers/{customer_id}",
        "/v1/customers/{customer_id}/timeline",
        "/v1/kb/articles/{article_id}",
        "/v1/kb/categories",
        "/v1/kb/favorites",
    ],
)


# --- workorders ------------------------------------------------------------------------


def seed_workorders(client: TestClient) -> dict[str, str]:
    ticket = {"type": "complaint", "ticket_id": "a-ticket", "subject": f"{MARKER} ticket"}
    ok(client.post("/v1/tickets", json=ticket, headers=A_ALL))
    return {
        "ticket_id": "a-ticket",
        "action": "resolve",
        "name": "complaint",
        "trigger": "voicemail",
    }


WORKORDERS = Scenario(
    seed=seed_workorders,
    absent={
        "ticket_id": "z-ticket",
        "action": "resolve",
        "name": "complaint",
        "trigger": "voicemail",
    },
    bodies={
        "POST /v1/tickets/{ticket_id}/{action}": {},
        "PUT /v1/ticket-rules/{trigger}": {"ticket_type": None},
    },
    reads=["/v1/tickets/a-ticket", "/v1/tickets", "/v1/ticket-types", "/v1/ticket-rules"],
)


# --- analytics -------------------------------------------------------------------------


def seed_analytics(client: TestClient) -> dict[str, str]:
    ok(client.put("/v1/settings", json={"timezone": "Pacific/Chatham"}, headers=A_ALL))
    exam = {"exam": f"{MARKER} exam", "score": 77}
    ok(client.post("/v1/agents/a-agent/exam-scores", json=exam, headers=A_ALL))
    return {"agent_id": "a-agent"}


ANALYTICS = Scenario(
    seed=seed_analytics,
    absent={"agent_id": "z-agent"},
    bodies={"POST /v1/agents/{agent_id}/exam-scores": {"exam": "b", "score": 10}},
    reads=["/v1/settings"],
)

SCENARIOS = {
    "routing": ROUTING,
    "ivr": IVR,
    "crm": CRM,
    "workorders": WORKORDERS,
    "analytics": ANALYTICS,
}


def _strip(value: Any, volatile: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_strip(item, volatile) for item in value]
    return value


def _reads(client: TestClient, scenario: Scenario, ids: dict[str, str]) -> dict[str, Any]:
    seen = {}
    for template in scenario.reads:
        url = Operation("get", template).url(ids)
        response = client.get(url, headers=A_ALL)
        assert response.status_code == 200, f"A cannot read {url}: {response.text}"
        seen[url] = _strip(response.json(), scenario.volatile)
    return seen


def _leaks(text: str, ids: dict[str, str]) -> list[str]:
    secrets = [MARKER] + [
        v for k, v in ids.items() if k not in ("version", "action", "name", "trigger")
    ]
    return [secret for secret in secrets if secret in text]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_one_tenant_cannot_read_change_or_infer_another_s_data(name, database_url, kafka, tmp_path):
    scenario = SCENARIOS[name]
    with TestClient(make_app(name, database_url, kafka, tmp_path)) as client:
        ids = scenario.seed(client)
        before = _reads(client, scenario, ids)
        ops = operations(client.app)
        failures: list[str] = []
        for op in ops:
            if op.method != "get" or op.params or op.path.endswith("/stream"):
                continue
            for role, headers in B_TOKENS.items():
                listed = client.get(op.path, headers=headers)
                if leaked := _leaks(listed.text, ids):
                    failures.append(f"GET {op.path} as {B}'s {role}: lists {leaked}")
        with_ids = [op for op in ops if op.params]
        # B's upserts last: once B holds a resource named like A's, B reads its own.
        with_ids.sort(key=lambda op: op.key in UPSERTS[name])
        for op in with_ids:
            body = scenario.bodies.get(op.key, {})
            for role, headers in B_TOKENS.items():
                query = {}
                if op.path.endswith("/stream"):  # EventSource cannot send headers
                    query = {"access_token": headers["Authorization"].split()[1]}
                theirs = client.request(
                    op.method, op.url(ids), json=body, headers=headers, params=query
                )
                where = f"{op.key} as {B}'s {role}"
                upsert = op.key in UPSERTS[name] or op.key in EXEMPT
                if theirs.status_code == 404 or op.key in EXEMPT:
                    absent = theirs  # (the 404 of an absent id; EXEMPT: see why)
                else:
                    absent = client.request(
                        op.method,
                        op.url(scenario.absent),
                        json=body,
                        headers=headers,
                        params=query,
                    )
                if theirs.status_code != absent.status_code:
                    failures.append(
                        f"{where}: A's id gives {theirs.status_code}, an absent one "
                        f"{absent.status_code}: {theirs.text[:200]}"
                    )
                if MARKER in theirs.text:  # (an error may echo the id B sent)
                    failures.append(f"{where}: shows A's data: {theirs.text[:200]}")
                if role == "all" and not upsert and theirs.status_code != 404:
                    failures.append(f"{where}: {theirs.status_code}, not 404: {theirs.text[:200]}")
                if 200 <= theirs.status_code < 300 and not upsert:
                    failures.append(f"{where}: {theirs.status_code} on A's id")
        assert not failures, "\n".join(failures)
        after = _reads(client, scenario, ids)
        for url, seen in before.items():
            assert after[url] == seen, f"A's {url} changed:\n{json.dumps(seen)}\n{after[url]}"
