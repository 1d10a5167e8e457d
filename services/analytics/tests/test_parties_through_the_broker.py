"""Through the real broker: routing's API runs a call with a supervisor and a consult
transfer; analytics consumes routing's topic and shows the supervisor's badge live,
then each agent's part of the call in the KPIs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callcenter.analytics.app import create_app as create_analytics
from callcenter.analytics.settings import Settings as AnalyticsSettings
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.routing.app import create_app as create_routing
from callcenter.routing.settings import Settings as RoutingSettings

KEY = "analytics-parties-signing-key-of-32-bytes"
TOKEN = issue_token(KEY, subject="sue", tenant="acme",
                    roles=[Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR])  # fmt: skip
SUE = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.broker


def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def ok(response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_a_supervised_consult_transfer_seen_by_analytics(database_url, kafka, tmp_path):
    routing_url = f"sqlite:///{tmp_path / 'routing.db'}"
    upgrade("callcenter.routing", routing_url)
    upgrade("callcenter.analytics", database_url)
    common = {"kafka": kafka, "data_dir": tmp_path, "signing_key": KEY}
    routing_app = create_routing(RoutingSettings(database_url=routing_url, **common))
    analytics_app = create_analytics(AnalyticsSettings(database_url=database_url, **common))
    with TestClient(routing_app) as routing, TestClient(analytics_app) as analytics:
        ok(routing.put("/v1/queues/sales", json={"name": "Sales", "skills": {"sales": 1}},
                       headers=SUE))  # fmt: skip
        for agent_id, name in (("ann", "Ann"), ("bob", "Bob")):
            ok(routing.put(f"/v1/agents/{agent_id}", json={"name": name, "skills": {"sales": 3}},
                           headers=SUE))  # fmt: skip
            ok(routing.post(f"/v1/agents/{agent_id}/login", headers=SUE))
        ok(routing.post("/v1/agents/ann/ready", headers=SUE))
        ok(routing.post("/v1/calls", json={"call_id": "c1", "queue_id": "sales"}, headers=SUE))
        ok(routing.post("/v1/calls/c1/answer", json={"agent_id": "ann"}, headers=SUE))
        ok(routing.post("/v1/calls/c1/whisper", headers=SUE))

        def badges() -> list[dict[str, Any]]:
            return analytics.get("/v1/live", headers=SUE).json()["supervised"]

        [badge] = eventually(badges) or [None]
        assert badge is not None, "the supervisor never showed on the live view"
        assert (badge["name"], badge["mode"], badge["supervisor_id"]) == ("Ann", "whisper", "sue")

        ok(routing.post("/v1/agents/bob/ready", headers=SUE))
        ok(routing.post("/v1/calls/c1/consult", json={"agent_id": "ann", "to_agent_id": "bob"},
                        headers=SUE))  # fmt: skip
        consulting = eventually(
            lambda: analytics.get("/v1/live", headers=SUE).json()["agents"]["on_call"] == 2
        )
        assert consulting, analytics.get("/v1/live", headers=SUE).json()["agents"]
        ok(routing.post("/v1/calls/c1/consult/complete", json={"agent_id": "ann"}, headers=SUE))
        ok(routing.post("/v1/calls/c1/hangup", json={"by": "caller"}, headers=SUE))

        def agents() -> dict[str, dict[str, Any]] | None:
            rows = analytics.get("/v1/kpis", params={"by": "agent"}, headers=SUE).json()["rows"]
            found = {row["agent_id"]: row for row in rows}
            return found if found.get("bob", {}).get("handled") else None

        found = eventually(agents)
        assert found, analytics.get("/v1/kpis", params={"by": "agent"}, headers=SUE).text
        ann, bob = found["ann"], found["bob"]
        assert (ann["answered"], ann["transferred"], ann["transfer_rate"]) == (1, 1, 1.0)
        assert ann["supervisions"] == 1
        assert (bob["answered"], bob["transferred"], bob["consults"]) == (1, 0, 1)
        assert badges() == []  # the supervisor left with Ann's part of the call
