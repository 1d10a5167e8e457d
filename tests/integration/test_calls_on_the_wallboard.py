"""Calls through the IVR and routing show up in analytics' live view and KPIs,
through the real broker (each service with its own database)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from callcenter.analytics.app import create_app as create_analytics
from callcenter.analytics.settings import Settings as AnalyticsSettings
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.ivr.app import create_app as create_ivr
from callcenter.ivr.settings import Settings as IvrSettings
from callcenter.routing.app import create_app as create_routing
from callcenter.routing.settings import Settings as RoutingSettings

KEY = "cross-service-tests-signing-key-32-bytes"
LINE = "+15550142"
TOKEN = issue_token(KEY, subject="sue", tenant="acme",
                    roles=[Role.ADMIN, Role.SUPERVISOR, Role.INTEGRATOR])  # fmt: skip
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
FLOW = {
    "name": "sales line",
    "start": "sales",
    "nodes": {"sales": {"type": "enqueue", "prompts": ["Please hold."], "queue": "sales"}},
}


def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def test_calls_through_ivr_and_routing_reach_the_live_view(database_url, kafka, tmp_path):
    urls = {name: f"sqlite:///{tmp_path / name}.db" for name in ("ivr", "routing")}
    urls["analytics"] = database_url
    for name, url in urls.items():
        upgrade(f"callcenter.{name}", url)
    common = {"kafka": kafka, "data_dir": tmp_path, "signing_key": KEY}
    routing_app = create_routing(RoutingSettings(database_url=urls["routing"], **common))
    ivr_app = create_ivr(IvrSettings(database_url=urls["ivr"], demo_tenant="",
                                     deliver_webhooks=False, **common))  # fmt: skip
    analytics_app = create_analytics(AnalyticsSettings(database_url=urls["analytics"], **common))
    with (
        TestClient(routing_app) as routing,
        TestClient(ivr_app) as ivr,
        TestClient(analytics_app) as analytics,
    ):
        # Callers here hang up within seconds: count those short abandons too.
        no_short = {"exclude_short_abandons": False}
        assert analytics.put("/v1/settings", json=no_short, headers=ADMIN).status_code == 200
        queue = {"name": "Sales", "skills": {"sales": 1}, "service_level_seconds": 20}
        assert routing.put("/v1/queues/sales", json=queue, headers=ADMIN).status_code == 200
        agent = {"name": "Ann", "skills": {"sales": 3}}
        assert routing.put("/v1/agents/ann", json=agent, headers=ADMIN).status_code == 200
        assert routing.post("/v1/agents/ann/login", headers=ADMIN).status_code == 200
        assert eventually(
            lambda: ivr.put("/v1/flows/main", json=FLOW, headers=ADMIN).status_code in (200, 201)
        )
        bound = {"flow_id": "main", "version": 1}
        assert ivr.put(f"/v1/numbers/{LINE}", json=bound, headers=ADMIN).status_code == 200

        def sales() -> dict[str, Any] | None:
            view = analytics.get("/v1/live", headers=ADMIN).json()
            return next((q for q in view["queues"] if q["queue_id"] == "sales"), None)

        # Two callers wait (Ann is not ready); the live view shows them.
        for call_id in ("call-1", "call-2"):
            call = {"from": "+33612345678", "to": LINE, "call_id": call_id}
            assert ivr.post("/v1/calls", json=call, headers=ADMIN).status_code == 201
        waiting = eventually(lambda: (q := sales()) and q["waiting"] == 2 and q)
        assert waiting, sales()
        assert waiting["name"] == "Sales"
        assert waiting["agents"]["not_ready"] == 1

        # One hangs up in the queue (an abandon); Ann answers the other.
        assert ivr.post("/v1/calls/call-1/hangup", headers=ADMIN).status_code == 200
        assert routing.post("/v1/agents/ann/ready", headers=ADMIN).status_code == 200
        offered = eventually(
            lambda: routing.get("/v1/calls/call-2", headers=ADMIN).json().get("offered_to")
        )
        assert offered == ["ann"]
        answer = {"agent_id": "ann"}
        assert (
            routing.post("/v1/calls/call-2/answer", json=answer, headers=ADMIN).status_code == 200
        )

        settled = eventually(
            lambda: (q := sales()) and q["abandoned"] == 1 and q["answered"] == 1 and q
        )
        assert settled, str(sales())
        assert (settled["waiting"], settled["offered"]) == (0, 2)
        assert settled["agents"]["on_call"] == 1
        assert settled["abandon_rate"] == 0.5

        report = analytics.get("/v1/kpis", params={"by": "queue"}, headers=ADMIN).json()
        [row] = report["rows"]
        assert (row["queue_id"], row["offered"], row["answered"]) == ("sales", 2, 1)
