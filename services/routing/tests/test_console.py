"""The agent console's server side: the page, each agent's desk and the supervisors'
floor, as JSON and pushed (server-sent events) when something changes."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from callcenter.events.catalogue.crm import CampaignContactsScreened
from callcenter.events.catalogue.ivr import OutboundCallStatus
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import publish_streams
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings

KEY = "routing-console-tests-signing-key-32-bytes"


def raw_token(role: Role, subject: str, tenant: str = "acme") -> str:
    return issue_token(KEY, subject=subject, tenant=tenant, roles=[role])


def token(role: Role, subject: str = "sam", tenant: str = "acme") -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_token(role, subject, tenant)}"}


SUPERVISOR = token(Role.SUPERVISOR)
INTEGRATOR = token(Role.INTEGRATOR)
ALICE = token(Role.AGENT, "alice")


@pytest.fixture
def client(tmp_path, kafka):
    database_url = f"sqlite:///{tmp_path / 'routing.db'}"
    upgrade("callcenter.routing", database_url)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY)
    with TestClient(create_app(settings)) as client:
        queue = {"skills": {"general": 1}, "wrap_up_seconds": 60,
                 "dispositions": ["resolved", "sale", "escalated"]}  # fmt: skip
        assert client.put("/v1/queues/general", json=queue, headers=SUPERVISOR).status_code == 200
        for agent in ("alice", "bob"):
            body = {"skills": {"general": 3}}
            assert client.put(f"/v1/agents/{agent}", json=body, headers=SUPERVISOR).is_success
        yield client


def desk(client: TestClient, agent: str = "alice") -> dict:
    answer = client.get(f"/v1/agents/{agent}/desk", headers=token(Role.AGENT, agent))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_page_is_served_and_names_the_other_services(client):
    page = client.get("/console")
    assert page.status_code == 200
    assert "Agent console" in page.text
    config = client.get("/v1/console/config", headers=ALICE).json()
    assert config["subject"] == "alice" and config["roles"] == ["agent"]
    assert set(config["services"]) == {"ivr", "crm", "workorders", "analytics"}
    assert client.get("/v1/console/config").status_code == 401


def test_the_desk_follows_the_agent_through_a_call(client):
    assert desk(client)["agent"]["status"] == "logged_out"
    client.post("/v1/agents/alice/login", headers=ALICE)
    client.post("/v1/agents/alice/ready", headers=ALICE)
    call = {"call_id": "c1", "queue_id": "general", "ani": "+33628000001"}
    assert client.post("/v1/calls", json=call, headers=INTEGRATOR).status_code == 201

    offered = desk(client)
    assert offered["agent"]["status"] == "offered"
    assert offered["call"]["part"] == "offered"
    assert offered["call"]["ani"] == "+33628000001"
    assert offered["call"]["offer_expires_at"]

    client.post("/v1/calls/c1/answer", json={"agent_id": "alice"}, headers=ALICE)
    client.post("/v1/calls/c1/hold", json={"agent_id": "alice"}, headers=ALICE)
    on_call = desk(client)
    assert on_call["call"]["part"] == "owner" and on_call["call"]["on_hold"] is True
    assert on_call["wrap"]["dispositions"] == ["resolved", "sale", "escalated"]

    for action in ("login", "ready"):
        client.post(f"/v1/agents/bob/{action}", headers=token(Role.AGENT, "bob"))
    consult = client.post("/v1/calls/c1/consult", json={"agent_id": "alice", "to_agent_id": "bob"},
                          headers=ALICE)  # fmt: skip
    assert consult.status_code == 200, consult.text
    assert desk(client, "bob")["call"]["part"] == "consult"
    assert desk(client)["call"]["party_agent_id"] == "bob"

    client.post("/v1/calls/c1/consult/complete", json={"agent_id": "alice"}, headers=ALICE)
    handed_over = desk(client)
    assert handed_over["agent"]["status"] == "wrap_up"
    assert handed_over["call"] is None and handed_over["wrap"]["call_id"] == "c1"
    assert desk(client, "bob")["call"]["part"] == "owner"

    client.post("/v1/calls/c1/hangup", json={"by": "caller"}, headers=INTEGRATOR)
    wrapping = desk(client, "bob")
    assert wrapping["agent"]["status"] == "wrap_up"
    assert wrapping["call"] is None and wrapping["wrap"]["call_id"] == "c1"


def test_an_agent_sees_only_its_own_desk_and_not_the_floor(client):
    assert client.get("/v1/agents/bob/desk", headers=ALICE).status_code == 403
    assert client.get("/v1/floor", headers=ALICE).status_code == 403
    missing = client.get("/v1/agents/nobody/desk", headers=SUPERVISOR)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_the_floor_lists_agents_by_state_and_queues(client):
    client.post("/v1/agents/alice/login", headers=ALICE)
    floor = client.get("/v1/floor", headers=SUPERVISOR).json()
    assert floor["states"]["not_ready"] == 1
    assert [a["id"] for a in floor["agents"]] == ["alice", "bob"]
    assert floor["agents"][0]["seconds_in_state"] is not None
    assert floor["queues"][0]["id"] == "general"


def read_event(lines) -> tuple[str, dict]:
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            return name, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


def test_the_desk_is_pushed_on_each_change_and_whole_on_reconnect(client):
    url = f"/v1/agents/alice/desk/stream?access_token={raw_token(Role.AGENT, 'alice')}"
    with client.stream("GET", url) as stream:
        lines = stream.iter_lines()
        name, first = read_event(lines)
        assert name == "desk" and first["agent"]["status"] == "logged_out"
        client.post("/v1/agents/alice/login", headers=ALICE)
        assert read_event(lines)[1]["agent"]["status"] == "not_ready"
        client.post("/v1/agents/alice/ready", headers=ALICE)
        assert read_event(lines)[1]["agent"]["status"] == "ready"
    with client.stream("GET", url) as again:  # a reconnect starts from the whole state
        assert read_event(again.iter_lines())[1]["agent"]["status"] == "ready"


def test_a_stream_for_someone_else_is_refused(client):
    url = f"/v1/agents/bob/desk/stream?access_token={raw_token(Role.AGENT, 'alice')}"
    assert client.get(url).status_code == 403
    floor = f"/v1/floor/stream?access_token={raw_token(Role.AGENT, 'alice')}"
    assert client.get(floor).status_code == 403


def eventually(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def test_a_preview_campaign_card_is_dialed_from_the_desk(client, kafka, tmp_path):
    campaign = {"campaign_id": "spring", "name": "Spring offer", "queue_id": "general",
                "mode": "preview", "windows": [{"start": "00:00", "end": "23:59"}],
                "dispositions": ["sale", "no_sale"],
                "completed_dispositions": ["sale"]}  # fmt: skip
    assert client.post("/v1/campaigns", json=campaign, headers=SUPERVISOR).status_code == 201
    contacts = [{"contact_id": "k1", "number": "+33612345601"}]
    assert client.post(
        "/v1/campaigns/spring/contacts", json=contacts, headers=SUPERVISOR
    ).is_success
    assert client.post("/v1/campaigns/spring/start", headers=SUPERVISOR).is_success
    for action in ("login", "ready"):
        client.post(f"/v1/agents/alice/{action}", headers=ALICE)
    screened = CampaignContactsScreened(campaign_id="spring", results=[
        {"contact_id": "k1", "customer_id": "cust-1", "consent": {"calls": True}}])  # fmt: skip
    publish_streams(kafka, tmp_path / "crm.db", "crm", {"campaign:spring": [screened]})

    preview = eventually(lambda: desk(client)["outbound"])
    assert preview["status"] == "preview" and preview["name"] == "Spring offer"
    assert (preview["number"], preview["customer_id"]) == ("+33612345601", "cust-1")
    assert preview["dials_itself_at"]
    assert desk(client)["call"] is None

    dialed = client.post("/v1/campaigns/spring/contacts/k1/dial", json={"agent_id": "alice"},
                         headers=ALICE)  # fmt: skip
    assert dialed.status_code == 200, dialed.text
    assert desk(client)["outbound"]["status"] == "dialing"
    answered = OutboundCallStatus(call_id=preview["call_id"], status="answered",
                                  number="+33612345601", at="2026-11-23T10:00:00Z")  # fmt: skip
    publish_streams(kafka, tmp_path / "ivr.db", "ivr", {preview["call_id"]: [answered]})

    talking = eventually(lambda: desk(client)["call"])
    assert talking["part"] == "owner" and talking["campaign"]["customer_id"] == "cust-1"
    assert desk(client)["outbound"] is None
    assert desk(client)["wrap"]["dispositions"] == ["sale", "no_sale"]  # the campaign's codes
