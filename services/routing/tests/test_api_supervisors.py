"""Supervisor actions on live calls through routing's API: who may, on which tenant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings

KEY = "routing-api-tests-signing-key-32-bytes!"


def token(role: Role, subject: str = "sam", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


SUPERVISOR = token(Role.SUPERVISOR)


@pytest.fixture
def client(database_url, kafka, tmp_path):
    upgrade("callcenter.routing", database_url)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY)
    with TestClient(create_app(settings)) as client:
        yield client


def answered_by_alice(client: TestClient) -> None:
    queue = {"skills": {"general": 2}, "wrap_up_seconds": 30}
    assert client.put("/v1/queues/general", json=queue, headers=SUPERVISOR).status_code == 200
    for agent in ("alice", "root"):
        body = {"skills": {"general": 5}}
        assert client.put(f"/v1/agents/{agent}", json=body, headers=SUPERVISOR).status_code == 200
        client.post(f"/v1/agents/{agent}/login", headers=SUPERVISOR)
    client.post("/v1/agents/alice/ready", headers=SUPERVISOR)
    call = {"call_id": "c1", "queue_id": "general"}
    assert client.post("/v1/calls", json=call, headers=token(Role.INTEGRATOR)).status_code == 201
    answered = client.post("/v1/calls/c1/answer", json={"agent_id": "alice"}, headers=SUPERVISOR)
    assert answered.json()["call"]["status"] == "connected"


def test_supervisor_actions_by_role_and_tenant(client):
    answered_by_alice(client)

    for action in ("monitor", "whisper", "barge", "takeover", "supervisor/leave"):
        for role in (Role.AGENT, Role.INTEGRATOR):
            refused = client.post(f"/v1/calls/c1/{action}", headers=token(role, subject="alice"))
            assert refused.status_code == 403, (action, role)
            assert refused.headers["content-type"].startswith("application/problem+json")
        elsewhere = token(Role.SUPERVISOR, tenant="globex")
        assert client.post(f"/v1/calls/c1/{action}", headers=elsewhere).status_code == 404

    monitor = client.post("/v1/calls/c1/monitor", headers=SUPERVISOR)
    assert monitor.status_code == 200, monitor.text
    assert monitor.json()["events"] == ["SupervisorJoined"]
    assert monitor.json()["call"]["supervisors"][0]["mode"] == "monitor"
    assert client.post("/v1/calls/c1/whisper", headers=SUPERVISOR).json()["events"] == [
        "SupervisorJoined"
    ]
    again = client.post("/v1/calls/c1/whisper", headers=SUPERVISOR)
    assert again.status_code == 409 and "already in whisper" in again.json()["detail"]
    left = client.post("/v1/calls/c1/supervisor/leave", headers=SUPERVISOR)
    assert left.json()["events"] == ["SupervisorLeft"]
    assert left.json()["call"]["supervisors"] == []

    # An admin who is also an agent takes the call over; alice wraps up.
    taken = client.post("/v1/calls/c1/takeover", headers=token(Role.ADMIN, subject="root"))
    assert taken.status_code == 200, taken.text
    assert taken.json()["events"] == [
        "SupervisorJoined",
        "CallEnded",
        "CallAnswered",
        "AgentWrapUpStarted",
    ]
    assert taken.json()["call"]["agent_id"] == "root"
    alice = client.get("/v1/agents/alice", headers=SUPERVISOR).json()
    assert alice["status"] == "wrap_up"

    ended = client.post("/v1/calls/c1/hangup", json={"by": "caller"}, headers=SUPERVISOR)
    assert ended.json()["events"] == ["CallEnded", "AgentWrapUpStarted"]
    gone = client.post("/v1/calls/c1/barge", headers=SUPERVISOR)
    assert gone.status_code == 404
