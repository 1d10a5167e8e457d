"""Campaigns through routing's API, with the CRM's screening and the IVR edge's leg
statuses arriving through the broker, on both databases."""

from __future__ import annotations

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

KEY = "routing-api-tests-signing-key-32-bytes!"


def token(role: Role, subject: str = "sam", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


SUPERVISOR = token(Role.SUPERVISOR)
ALL_DAY = [{"start": "00:00", "end": "23:59"}]


@pytest.fixture
def client(database_url, kafka, tmp_path):
    upgrade("callcenter.routing", database_url)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY)
    with TestClient(create_app(settings)) as client:
        yield client


def staffed(client: TestClient) -> None:
    queue = {"skills": {"sales": 1}, "wrap_up_seconds": 30, "dispositions": ["sale", "no_sale"]}
    assert client.put("/v1/queues/sales", json=queue, headers=SUPERVISOR).status_code == 200
    body = {"skills": {"sales": 5}}
    assert client.put("/v1/agents/alice", json=body, headers=SUPERVISOR).status_code == 200
    client.post("/v1/agents/alice/login", headers=SUPERVISOR)
    client.post("/v1/agents/alice/ready", headers=SUPERVISOR)


def wait_for(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_bad_campaigns_and_contact_lists_get_problems_naming_row_and_field(client):
    staffed(client)
    windows = {"campaign_id": "spring", "queue_id": "sales",
               "windows": [{"start": "20:00", "end": "09:00"}]}  # fmt: skip
    refused = client.post("/v1/campaigns", json=windows, headers=SUPERVISOR)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"].startswith("body.windows.0")
    ghost = client.post("/v1/campaigns", json={"campaign_id": "x", "queue_id": "ghost"},
                        headers=SUPERVISOR)  # fmt: skip
    assert ghost.status_code == 422 and "queue_id" in ghost.json()["detail"]
    agent = client.post("/v1/campaigns", json={"campaign_id": "x", "queue_id": "sales"},
                        headers=token(Role.AGENT, "alice"))  # fmt: skip
    assert agent.status_code == 403

    created = client.post("/v1/campaigns", json={"campaign_id": "spring", "queue_id": "sales"},
                          headers=SUPERVISOR)  # fmt: skip
    assert created.status_code == 201, created.text
    again = client.post("/v1/campaigns", json={"campaign_id": "spring", "queue_id": "sales"},
                        headers=SUPERVISOR)  # fmt: skip
    assert again.status_code == 409

    csv_list = "contact_id,number,customer_id\nk1,+33612345601,cust-1\nk2,0612,\nk3,+12125550101,\n"
    upload = client.post("/v1/campaigns/spring/contacts", content=csv_list,
                         headers={**SUPERVISOR, "Content-Type": "text/csv"})  # fmt: skip
    assert upload.status_code == 200, upload.text
    assert upload.json()["added"] == 2
    assert upload.json()["rejected"] == [
        {"row": 2, "field": "number", "error": "not an E.164 phone number (+ and country code)"}
    ]
    all_bad = client.post("/v1/campaigns/spring/contacts",
                          json=[{"contact_id": "k1", "number": "+33612345609"}, {"number": ""}],
                          headers=SUPERVISOR)  # fmt: skip
    assert all_bad.status_code == 422
    assert [(e["row"], e["field"]) for e in all_bad.json()["errors"]] == [
        (1, "body[1].contact_id"),
        (2, "body[2].number"),
    ]
    unknown = client.post("/v1/campaigns/nope/contacts", json=[{"number": "+33612345601"}],
                          headers=SUPERVISOR)  # fmt: skip
    assert unknown.status_code == 404
    dnc = client.put("/v1/dnc", json={"numbers": ["+33612345601", "12"]}, headers=SUPERVISOR)
    assert dnc.status_code == 422 and dnc.json()["errors"][0]["field"] == "body.numbers.1"
    elsewhere = client.get("/v1/campaigns/spring", headers=token(Role.SUPERVISOR, tenant="globex"))
    assert elsewhere.status_code == 404


def test_a_progressive_campaign_from_upload_to_disposition(client, kafka, tmp_path):
    staffed(client)
    body = {"campaign_id": "spring", "queue_id": "sales", "mode": "progressive",
            "windows": ALL_DAY, "completed_dispositions": ["sale"]}  # fmt: skip
    assert client.post("/v1/campaigns", json=body, headers=SUPERVISOR).status_code == 201
    contacts = {"contacts": [{"contact_id": "k1", "number": "+33612345601"},
                             {"contact_id": "k2", "number": "+33612345602"},
                             {"contact_id": "k3", "number": "+33612345603"}]}  # fmt: skip
    assert client.post("/v1/campaigns/spring/contacts", json=contacts,
                       headers=SUPERVISOR).json()["added"] == 3  # fmt: skip
    assert client.put("/v1/dnc", json={"numbers": ["+33 6 12 34 56 03"]},
                      headers=SUPERVISOR).json() == {"numbers": ["+33612345603"]}  # fmt: skip
    started = client.post("/v1/campaigns/spring/start", headers=SUPERVISOR).json()
    assert started["events"] == ["CampaignStarted"]  # nobody screened yet: nobody dialed

    screened = CampaignContactsScreened(campaign_id="spring", results=[
        {"contact_id": "k1", "customer_id": "cust-1", "consent": {"calls": True}},
        {"contact_id": "k2", "customer_id": None, "consent": {"calls": False}},
        {"contact_id": "k3", "customer_id": None, "consent": {"calls": True}},
    ])  # fmt: skip
    publish_streams(kafka, tmp_path / "crm.db", "crm", {"campaign:spring": [screened]})

    def attempted():
        progress = client.get("/v1/campaigns/spring/progress", headers=SUPERVISOR).json()
        return progress if progress["attempted"] == 1 else None

    progress = wait_for(attempted)
    assert progress and progress["attempted"] == 1  # k2 has no consent, k3 is on the DNC list
    alice = client.get("/v1/agents/alice", headers=SUPERVISOR).json()
    assert alice["status"] == "offered"  # reserved for the call being placed
    placed = client.get("/v1/campaigns/spring/calls", headers=SUPERVISOR).json()
    assert [(c["call_id"], c["status"], c["agent_id"], c["customer_id"]) for c in placed] == [
        ("out:spring:k1:1", "dialing", "alice", "cust-1")
    ]

    answered = OutboundCallStatus(call_id="out:spring:k1:1", status="answered",
                                  number="+33612345601", at="2026-11-23T10:00:00Z")  # fmt: skip
    publish_streams(kafka, tmp_path / "ivr.db", "ivr", {"out:spring:k1:1": [answered]})

    def connected():
        view = client.get("/v1/calls/out:spring:k1:1", headers=SUPERVISOR)
        return view.json() if view.status_code == 200 else None

    call = wait_for(connected)
    assert call["agent_id"] == "alice" and call["customer_id"] == "cust-1"

    me = token(Role.AGENT, "alice")
    sale = client.post("/v1/calls/out:spring:k1:1/disposition",
                       json={"agent_id": "alice", "disposition": "sale"}, headers=me)  # fmt: skip
    assert sale.json()["events"] == ["CallDispositioned", "ContactDispositioned"]
    client.post("/v1/calls/out:spring:k1:1/hangup", json={"by": "agent"}, headers=me)
    done = client.post("/v1/agents/alice/wrap-up-done", headers=me)
    assert done.status_code == 200
    progress = client.get("/v1/campaigns/spring/progress", headers=SUPERVISOR).json()
    assert {k: progress[k] for k in ("attempted", "reached", "completed", "remaining")} == {
        "attempted": 1, "reached": 1, "completed": 1, "remaining": 1,  # k3: DNC
    }  # fmt: skip
    assert progress["completion_rate"] == round(1 / 3, 4)
    assert progress["status"] == "completed"  # nobody else may ever be called
    assert client.post("/v1/campaigns/spring/pause", headers=SUPERVISOR).status_code == 409


def test_a_restarted_service_keeps_its_campaigns_and_calls_being_placed(
    database_url, kafka, tmp_path
):
    upgrade("callcenter.routing", database_url)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path,
                        signing_key=KEY, snapshot_every=5)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        staffed(client)
        body = {"campaign_id": "spring", "queue_id": "sales", "windows": ALL_DAY}
        client.post("/v1/campaigns", json=body, headers=SUPERVISOR)
        csv_list = "number\n+33612345601\n+33612345602\n"
        client.post("/v1/campaigns/spring/contacts", content=csv_list,
                    headers={**SUPERVISOR, "Content-Type": "text/csv"})  # fmt: skip
        client.put("/v1/dnc", json={"numbers": ["+33612345699"]}, headers=SUPERVISOR)
        client.post("/v1/campaigns/spring/start", headers=SUPERVISOR)
        before = client.get("/v1/campaigns/spring", headers=SUPERVISOR).json()
        calls_before = client.get("/v1/campaigns/spring/calls", headers=SUPERVISOR).json()
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/campaigns/spring", headers=SUPERVISOR).json() == before
        assert client.get("/v1/campaigns/spring/calls", headers=SUPERVISOR).json() == calls_before
        assert client.get("/v1/dnc", headers=SUPERVISOR).json() == {"numbers": ["+33612345699"]}
        assert before["progress"]["contacts"] == 2 and before["progress"]["status"] == "running"
