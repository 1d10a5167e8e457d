"""Routing's HTTP API, as integrators, supervisors and agents use it, on both databases."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from callcenter.events.catalogue.crm import CustomerIdentified
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import publish_streams
from callcenter.routing.app import create_app
from callcenter.routing.settings import Settings
from callcenter.routing.store.tables import snapshots

KEY = "routing-api-tests-signing-key-32-bytes!"


def token(role: Role, subject: str = "sam", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


SUPERVISOR = token(Role.SUPERVISOR)
INTEGRATOR = token(Role.INTEGRATOR)


@pytest.fixture
def routing(database_url, kafka, tmp_path):
    upgrade("callcenter.routing", database_url)

    def start(**options) -> TestClient:
        settings = Settings(
            database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY, **options
        )
        return TestClient(create_app(settings))

    return start


def staff(client: TestClient) -> None:
    queue = {"skills": {"general": 2}, "strategy": "longest_idle", "wrap_up_seconds": 30}
    assert client.put("/v1/queues/general", json=queue, headers=SUPERVISOR).status_code == 200
    for agent in ("alice", "bob"):
        body = {"name": agent.title(), "skills": {"general": 5}}
        assert client.put(f"/v1/agents/{agent}", json=body, headers=SUPERVISOR).status_code == 200
        me = token(Role.AGENT, subject=agent)
        assert client.post(f"/v1/agents/{agent}/login", headers=me).json()["status"] == "not_ready"
        assert client.post(f"/v1/agents/{agent}/ready", headers=me).json()["status"] == "ready"


def test_a_call_from_queue_to_wrap_up_through_the_api(routing):
    with routing() as client:
        staff(client)

        call = {"call_id": "c1", "queue_id": "general", "ani": "+33628000001"}
        queued = client.post("/v1/calls", json=call, headers=INTEGRATOR)
        assert queued.status_code == 201, queued.text
        assert queued.json()["events"] == ["CallQueued", "CallOffered"]
        view = client.get("/v1/calls/c1", headers=SUPERVISOR).json()
        assert view["status"] == "offered"
        assert view["offered_to"] == ["alice"]
        assert view["explanation"]["strategy"] == "longest_idle"
        assert [c["agent_id"] for c in view["explanation"]["candidates"]] == ["alice", "bob"]

        as_bob = client.post("/v1/calls/c1/answer", json={"agent_id": "alice"},
                             headers=token(Role.AGENT, subject="bob"))  # fmt: skip
        assert as_bob.status_code == 403
        answered = client.post("/v1/calls/c1/answer", json={"agent_id": "alice"},
                               headers=token(Role.AGENT, subject="alice"))  # fmt: skip
        assert answered.json()["call"]["status"] == "connected"

        ended = client.post("/v1/calls/c1/hangup", json={"by": "agent"}, headers=SUPERVISOR)
        assert ended.json()["events"] == ["CallEnded", "AgentWrapUpStarted"]
        alice = client.post("/v1/agents/alice/wrap-up-done", headers=token(Role.AGENT, "alice"))
        assert alice.json()["status"] == "ready"
        assert alice.json()["calls_today"] == 1


def test_bad_input_is_refused_with_a_problem_and_changes_nothing(routing):
    with routing() as client:
        staff(client)
        before = client.get("/v1/agents", headers=SUPERVISOR).json()

        unknown = client.post("/v1/calls", json={"call_id": "c1", "queue_id": "nowhere"},
                              headers=INTEGRATOR)  # fmt: skip
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        assert unknown.json()["detail"] == "queue 'nowhere' does not exist"

        not_offered = client.post(
            "/v1/calls/c9/answer", json={"agent_id": "alice"}, headers=SUPERVISOR
        )
        assert not_offered.status_code == 404

        level = client.put("/v1/queues/q2", json={"skills": {"general": 11}}, headers=SUPERVISOR)
        assert level.status_code == 422
        assert level.json()["errors"][0]["field"] == "body.skills.general"

        overflow = {"overflow": [{"after_seconds": 10, "add_queues": ["ghost"]}]}
        refused = client.put("/v1/queues/q2", json=overflow, headers=SUPERVISOR)
        assert refused.status_code == 422
        assert "ghost" in refused.json()["detail"]

        no_condition = client.put("/v1/queues/q2", json={"overflow": [{"lower_levels_by": 1}]},
                                  headers=SUPERVISOR)  # fmt: skip
        assert no_condition.status_code == 422
        assert "condition" in no_condition.json()["detail"]

        assert client.post("/v1/agents/zed/ready", headers=SUPERVISOR).status_code == 404
        assert client.get("/v1/agents", headers=SUPERVISOR).json() == before
        assert [q["id"] for q in client.get("/v1/queues", headers=SUPERVISOR).json()] == ["general"]


def test_a_tenant_sees_only_its_own_queues_and_agents(routing):
    with routing() as client:
        staff(client)
        other = token(Role.SUPERVISOR, tenant="globex")

        assert client.get("/v1/queues", headers=other).json() == []
        assert client.get("/v1/agents/alice", headers=other).status_code == 404
        assert client.get("/v1/queues/general/live", headers=other).status_code == 404


@pytest.mark.parametrize("snapshot_every", [1000, 7])
def test_a_restarted_service_rebuilds_the_acd_from_its_log(routing, snapshot_every, database_url):
    with routing(snapshot_every=snapshot_every) as client:
        staff(client)
        client.post("/v1/agents/bob/not-ready", json={"reason": "lunch"}, headers=SUPERVISOR)
        for n in range(3):
            client.post(
                "/v1/calls", json={"call_id": f"c{n}", "queue_id": "general"}, headers=INTEGRATOR
            )
        before = client.get("/v1/queues/general/live", headers=SUPERVISOR).json()
        agents_before = client.get("/v1/agents", headers=SUPERVISOR).json()

    if snapshot_every < 1000:
        # 12 events: the snapshot at 7, and 5 events after it to replay at start-up.
        assert asyncio.run(snapshot_versions(database_url)) == [7]
    with routing(snapshot_every=snapshot_every) as client:
        after = client.get("/v1/queues/general/live", headers=SUPERVISOR).json()
        assert [c["call_id"] for c in after["calls"]] == [c["call_id"] for c in before["calls"]]
        assert [c["position"] for c in after["calls"]] == [c["position"] for c in before["calls"]]
        assert client.get("/v1/agents", headers=SUPERVISOR).json() == agents_before
        assert client.get("/v1/calls/c0", headers=SUPERVISOR).json()["offered_to"] == ["alice"]


async def snapshot_versions(database_url: str) -> list[int]:
    db = Database(database_url)
    async with db.read() as conn:
        versions = list(await conn.scalars(select(snapshots.c.version)))
    await db.dispose()
    return versions


def test_offers_expire_on_the_timer_and_go_to_the_next_agent(routing):
    with routing() as client:
        staff(client)
        # Long enough that the first offer is still ringing when read back on a loaded
        # machine (at 0.5 s a CI run on PostgreSQL read it already moved to bob).
        quick = {"skills": {"general": 2}, "ring_timeout_seconds": 2}
        client.put("/v1/queues/general", json=quick, headers=SUPERVISOR)
        client.post("/v1/calls", json={"call_id": "c1", "queue_id": "general"}, headers=INTEGRATOR)
        assert client.get("/v1/calls/c1", headers=SUPERVISOR).json()["offered_to"] == ["alice"]

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            view = client.get("/v1/calls/c1", headers=SUPERVISOR).json()
            if view["offered_to"] == ["bob"]:
                break
            time.sleep(0.05)
        assert view["offered_to"] == ["bob"]


def test_the_crms_identification_reaches_routing_through_the_broker(routing, kafka, tmp_path):
    with routing() as client:
        staff(client)
        client.post("/v1/agents/alice/not-ready", headers=SUPERVISOR)
        client.post("/v1/agents/bob/not-ready", headers=SUPERVISOR)
        identified = CustomerIdentified(call_id="c7", customer_id="cust-42", tier="key_important")
        publish_streams(kafka, tmp_path / "crm.db", "crm", {"call:c7": [identified]})

        # Queued without a customer: the identification applies before or after.
        client.post("/v1/calls", json={"call_id": "c7", "queue_id": "general"}, headers=INTEGRATOR)

        deadline = time.monotonic() + 15
        view = client.get("/v1/calls/c7", headers=SUPERVISOR).json()
        while time.monotonic() < deadline and view["customer_id"] != "cust-42":
            time.sleep(0.1)
            view = client.get("/v1/calls/c7", headers=SUPERVISOR).json()
        assert view["customer_id"] == "cust-42"


# -- call handling ------------------------------------------------------------------------


def as_agent(name: str) -> dict[str, str]:
    return token(Role.AGENT, subject=name)


def answered_by_alice(client: TestClient, call_id: str = "c1") -> None:
    """Bob is not ready; alice takes the call."""
    client.post("/v1/agents/bob/not-ready", json={"reason": "lunch"}, headers=as_agent("bob"))
    client.post("/v1/calls", json={"call_id": call_id, "queue_id": "general"}, headers=INTEGRATOR)
    answered = client.post(
        f"/v1/calls/{call_id}/answer", json={"agent_id": "alice"}, headers=as_agent("alice")
    )
    assert answered.status_code == 200, answered.text


def test_hold_mute_consult_complete_and_disposition_through_the_api(routing):
    with routing() as client:
        staff(client)
        queue = {
            "skills": {"general": 2},
            "wrap_up_seconds": 30,
            "announce_agent_number": True,
            "dispositions": ["resolved", "escalated"],
        }
        client.put("/v1/queues/general", json=queue, headers=SUPERVISOR)
        body = {"skills": {"general": 5}, "work_number": "1002"}
        client.put("/v1/agents/bob", json=body, headers=SUPERVISOR)
        answered_by_alice(client)
        alice = {"agent_id": "alice"}
        me = as_agent("alice")

        held = client.post("/v1/calls/c1/hold", json=alice, headers=me)
        assert held.json()["events"] == ["CallHeld"] and held.json()["call"]["on_hold"]
        assert client.post("/v1/calls/c1/resume", json=alice, headers=me).json()["events"] == [
            "CallResumed"
        ]
        muted = client.post("/v1/calls/c1/mute", json=alice, headers=me).json()
        assert muted["call"]["muted"]
        unmuted = client.post("/v1/calls/c1/unmute", json=alice, headers=me).json()
        assert not unmuted["call"]["muted"]

        client.post("/v1/agents/bob/ready", headers=as_agent("bob"))
        consult = client.post(
            "/v1/calls/c1/consult", json={**alice, "to_agent_id": "bob"}, headers=me
        )
        assert consult.json()["events"] == ["CallHeld", "CallConsultStarted"]
        assert consult.json()["call"]["party_agent_id"] == "bob"
        done = client.post("/v1/calls/c1/consult/complete", json=alice, headers=me).json()
        assert done["events"] == [
            "CallResumed",
            "CallTransferred",
            "CallEnded",
            "CallAnswered",
            "AgentWrapUpStarted",
        ]
        assert done["call"]["agent_id"] == "bob"

        wrap = {
            **alice,
            "disposition": "escalated",
            "notes": "needs a technician",
            "follow_up": True,
        }
        coded = client.post("/v1/calls/c1/disposition", json=wrap, headers=me)
        assert coded.json()["events"] == ["CallDispositioned"]
        mine = client.get("/v1/agents/alice", headers=me).json()
        assert mine["status"] == "wrap_up" and mine["state_since"]
        assert set(mine["seconds_today"]) >= {"ready", "offered", "on_call", "wrap_up"}


def test_transfers_and_conference_through_the_api(routing):
    with routing() as client:
        staff(client)
        client.put("/v1/queues/billing", json={"skills": {"billing": 1}}, headers=SUPERVISOR)
        answered_by_alice(client)
        alice = {"agent_id": "alice"}
        me = as_agent("alice")

        client.post("/v1/agents/bob/ready", headers=as_agent("bob"))
        joined = client.post(
            "/v1/calls/c1/conference", json={**alice, "party_agent_id": "bob"}, headers=me
        )
        assert joined.json()["events"] == ["CallConferenced"]
        left = client.post(
            "/v1/calls/c1/conference/leave", json={"agent_id": "bob"}, headers=as_agent("bob")
        )
        assert left.json()["events"] == ["CallPartyLeft"]

        blind = client.post(
            "/v1/calls/c1/transfer", json={**alice, "to_queue_id": "billing"}, headers=me
        )
        assert blind.json()["events"] == [
            "CallTransferred",
            "CallEnded",
            "CallQueued",
            "AgentWrapUpStarted",
        ]
        assert blind.json()["call"]["queue_id"] == "billing"
        assert blind.json()["call"]["status"] == "waiting"

        client.post("/v1/calls", json={"call_id": "c2", "queue_id": "general"}, headers=INTEGRATOR)
        client.post("/v1/calls/c2/answer", json={"agent_id": "bob"}, headers=as_agent("bob"))
        client.post("/v1/agents/alice/wrap-up-done", headers=me)
        bob = {"agent_id": "bob"}
        to_alice = client.post(
            "/v1/calls/c2/transfer", json={**bob, "to_agent_id": "alice"}, headers=as_agent("bob")
        )
        assert to_alice.json()["call"]["offered_to"] == ["alice"]
        client.post("/v1/calls/c2/answer", json=alice, headers=me)
        out = client.post(
            "/v1/calls/c2/transfer", json={**alice, "to_number": "+33140000000"}, headers=me
        )
        assert out.json() == {
            "call": None,
            "events": ["CallTransferred", "CallEnded", "AgentWrapUpStarted"],
        }


def test_call_handling_refusals_are_plain_problems_and_change_nothing(routing):
    with routing() as client:
        staff(client)
        client.put(
            "/v1/queues/general",
            json={"skills": {"general": 2}, "dispositions": ["ok"]},
            headers=SUPERVISOR,
        )
        today = datetime.now(UTC).date()
        holidays = [str(today + timedelta(days=n)) for n in (-1, 0, 1)]
        closed = {"hours": {"pattern": "7x24", "holidays": holidays}}
        client.put("/v1/queues/support", json=closed, headers=SUPERVISOR)
        answered_by_alice(client)
        me = as_agent("alice")
        client.post("/v1/calls/c1/hold", json={"agent_id": "alice"}, headers=me)
        before = client.get("/v1/calls/c1", headers=SUPERVISOR).json()

        on_hold = client.post(
            "/v1/calls/c1/transfer",
            json={"agent_id": "alice", "to_queue_id": "support"},
            headers=me,
        )
        assert on_hold.status_code == 409
        assert on_hold.headers["content-type"].startswith("application/problem+json")
        assert on_hold.json()["detail"] == "call 'c1' is on hold: resume it before transferring"
        client.post("/v1/calls/c1/resume", json={"agent_id": "alice"}, headers=me)
        shut = client.post(
            "/v1/calls/c1/transfer",
            json={"agent_id": "alice", "to_queue_id": "support"},
            headers=me,
        )
        assert (shut.status_code, shut.json()["detail"]) == (409, "queue 'support' is closed")
        lunch = client.post(
            "/v1/calls/c1/conference",
            json={"agent_id": "alice", "party_agent_id": "bob"},
            headers=me,
        )
        assert (lunch.status_code, lunch.json()["detail"]) == (
            409,
            "agent 'bob' is not ready (lunch)",
        )

        two = client.post(
            "/v1/calls/c1/transfer",
            json={"agent_id": "alice", "to_queue_id": "support", "to_agent_id": "bob"},
            headers=me,
        )
        assert two.status_code == 422 and "exactly one" in two.json()["detail"]
        code = client.post(
            "/v1/calls/c1/disposition",
            json={"agent_id": "alice", "disposition": "sold"},
            headers=me,
        )
        assert code.status_code == 422 and "'sold'" in code.json()["detail"]
        for_bob = client.post("/v1/calls/c1/hold", json={"agent_id": "bob"}, headers=me)
        assert for_bob.status_code == 403
        after = client.get("/v1/calls/c1", headers=SUPERVISOR).json()
        assert {**after, "waited": None} == {
            **before,
            "on_hold": False,
            "hold_seconds": after["hold_seconds"],
            "waited": None,
        }

        nap = client.post("/v1/agents/bob/not-ready", json={"reason": "nap"}, headers=SUPERVISOR)
        assert nap.status_code == 422
        assert nap.json()["detail"] == (
            "not-ready reason 'nap' is not allowed; allowed: break, lunch, training, "
            "after_call, outbound, meeting"
        )
        reasons = {"not_ready_reasons": ["nap", "break"]}
        assert client.put("/v1/settings", json=reasons, headers=me).status_code == 403
        assert client.put("/v1/settings", json=reasons, headers=SUPERVISOR).status_code == 200
        assert client.get("/v1/settings", headers=me).json() == reasons
        nap = client.post("/v1/agents/bob/not-ready", json={"reason": "nap"}, headers=SUPERVISOR)
        assert nap.json()["reason"] == "nap"
