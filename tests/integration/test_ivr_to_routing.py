"""A call through the IVR lands in routing's queue with the skills the flow chose,
through the real broker; the caller on hold is told routing's position; a
hang-up while queued is an abandon in routing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.ivr.app import create_app as create_ivr
from callcenter.ivr.settings import Settings as IvrSettings
from callcenter.routing import acd
from callcenter.routing.app import create_app as create_routing
from callcenter.routing.settings import Settings as RoutingSettings

KEY = "cross-service-tests-signing-key-32-bytes"
SUPPORT_LINE = "+15550199"


def bearer(*roles: Role) -> dict[str, str]:
    token = issue_token(KEY, subject="tester", tenant="acme", roles=list(roles))
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR)

FLOW = {
    "name": "support line",
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "say", "prompts": ["Welcome."], "next": "menu"},
        "menu": {
            "type": "menu",
            "prompts": ["For technical support press 2."],
            "choices": {"2": {"next": "support", "set": {"topic": "technical"}}},
            "on_failure": "support",
        },
        "support": {
            "type": "enqueue",
            "prompts": ["Please hold."],
            "queue": "support",
            "skills": {"technical": 3},
            "priority": 2,
        },
    },
}


def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_a_call_through_the_ivr_is_queued_in_routing_then_abandoned(
    database_url, kafka, tmp_path, monkeypatch
):
    # Routing's consumers wake its writer when they fill the inbox: no polling needed.
    monkeypatch.setattr(acd, "INBOX_POLL_SECONDS", 3600.0)
    ivr_url = f"sqlite:///{tmp_path / 'ivr.db'}"
    upgrade("callcenter.routing", database_url)
    upgrade("callcenter.ivr", ivr_url)
    routing_app = create_routing(
        RoutingSettings(database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY)
    )
    ivr_app = create_ivr(
        IvrSettings(
            database_url=ivr_url,
            kafka=kafka,
            data_dir=tmp_path,
            signing_key=KEY,
            demo_tenant="",
            deliver_webhooks=False,
        )
    )
    with TestClient(routing_app) as routing, TestClient(ivr_app) as ivr:
        queue = {"skills": {"technical": 1}, "service_level_seconds": 20}
        assert routing.put("/v1/queues/support", json=queue, headers=ADMIN).status_code == 200

        # The IVR learns routing's queues from its events before it accepts the flow.
        published = eventually(
            lambda: ivr.put("/v1/flows/main", json=FLOW, headers=ADMIN).status_code in (200, 201)
        )
        assert published, ivr.put("/v1/flows/main", json=FLOW, headers=ADMIN).text
        bound = ivr.put(f"/v1/numbers/{SUPPORT_LINE}", json={"flow_id": "main", "version": 1},
                        headers=ADMIN)  # fmt: skip
        assert bound.status_code == 200, bound.text

        call = {"from": "+33612345678", "to": SUPPORT_LINE, "call_id": "call-1"}
        assert ivr.post("/v1/calls", json=call, headers=ADMIN).status_code == 201
        chosen = ivr.post("/v1/calls/call-1/input", json={"digits": "2"}, headers=ADMIN).json()
        assert "enqueue" in [item["type"] for item in chosen["instructions"]]

        queued = eventually(
            lambda: routing.get("/v1/calls/call-1", headers=ADMIN).status_code == 200
        )
        assert queued, "the call never reached routing's queue"
        view = routing.get("/v1/calls/call-1", headers=ADMIN).json()
        assert (view["queue_id"], view["skills"], view["priority"]) == (
            "support", {"technical": 3}, 2,
        )  # fmt: skip
        assert view["position"] == 1

        def told() -> dict | None:  # routing's CallQueued, back through the broker
            hold = ivr.get("/v1/calls/call-1/hold", headers=ADMIN).json()
            return hold if hold["position"] == 1 else None

        hold = eventually(told)
        assert hold, "the IVR never learnt the caller's position"
        assert hold["instructions"][0]["text"] == "You are number 1 in line."

        assert ivr.post("/v1/calls/call-1/hangup", headers=ADMIN).status_code == 200

        def abandoned() -> list[dict]:
            page = routing.get("/v1/events?stream_id=tenant:acme&limit=500", headers=ADMIN).json()
            return [e for e in page["items"] if e["type"] == "CallAbandoned"]

        [abandon] = eventually(abandoned)
        assert abandon["data"]["call_id"] == "call-1"
        assert abandon["correlationid"] == "call-1"
        assert routing.get("/v1/calls/call-1", headers=ADMIN).status_code == 404
