"""The customer pyramid and churn risk from per-tenant rules, recomputed as events arrive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from callcenter.crm.rebuild import rebuild_customers
from callcenter.events import store
from callcenter.events.catalogue import ivr, routing, workorders
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
NOW = datetime.now(UTC)
RULES = {
    "value_attribute": "annual_value",
    "window_days": 30,
    "tiers": [
        {"tier": "key_important", "min_value": 100000},
        {"tier": "key_secondary", "min_value": 10000},
        {"tier": "ordinary", "min_calls": 2},
    ],
    "default_tier": "small",
    "churn": {"complaints": 2, "abandons": 2, "overdue_work_orders": 1},
}


def headers(role: Role) -> dict[str, str]:
    bearer = issue_token(KEY, subject="alice", tenant="acme", roles=[role])
    return {"Authorization": f"Bearer {bearer}"}


AGENT, ADMIN = headers(Role.AGENT), headers(Role.ADMIN)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_tiers_and_churn_follow_the_rules_and_the_events(crm_offline, feed, database_url):
    with crm_offline() as client:

        def make(name: str, value: str | None, phone: str) -> dict:
            attributes = {"annual_value": value} if value else {}
            return client.post(
                "/v1/customers",
                headers=AGENT,
                json={"last_name": name, "attributes": attributes, "phones": [phone]},
            ).json()

        big = make("Big", "120000", "06 00 00 00 01")
        mid = make("Mid", "20000", "06 00 00 00 02")
        few = make("Few", None, "06 00 00 00 03")
        assert {big["tier"], mid["tier"], few["tier"]} == {"ordinary"}  # no rules yet

        assert client.put("/v1/segment-rules", json=RULES, headers=AGENT).status_code == 403
        assert client.get("/v1/segment-rules", headers=ADMIN).status_code == 404
        for rules, field in (
            ({**RULES, "tiers": [{"tier": "gold"}]}, "body.tiers.0.tier"),
            ({**RULES, "window_days": 0}, "body.window_days"),
            ({**RULES, "churn": {"abandons": -1}}, "body.churn.abandons"),
            ({**RULES, "colour": "red"}, "body.colour"),
        ):
            bad = client.put("/v1/segment-rules", json=rules, headers=ADMIN)
            assert bad.status_code == 422, rules
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["field"] == field
        twice = {**RULES, "tiers": [{"tier": "small"}, {"tier": "small"}]}
        assert client.put("/v1/segment-rules", json=twice, headers=ADMIN).status_code == 422

        put = client.put("/v1/segment-rules", json=RULES, headers=ADMIN)
        assert put.status_code == 200, put.text
        assert put.json()["recomputed"] == 3
        assert client.get("/v1/segment-rules", headers=ADMIN).json()["rules"]["window_days"] == 30

        def tier(customer: dict) -> str:
            return client.get(f"/v1/customers/{customer['id']}", headers=AGENT).json()["tier"]

        def segments() -> dict:
            return client.get("/v1/segments", headers=AGENT).json()

        assert (tier(big), tier(mid), tier(few)) == ("key_important", "key_secondary", "small")
        assert segments()["customers"] == {"key_important": 1, "key_secondary": 1,
                                           "ordinary": 0, "small": 1}  # fmt: skip

        # Contact history: a second call in the window moves Few up (one outside does not).
        for call_id, days in (("old", 40), ("c1", 3), ("c2", 1)):
            feed(
                "ivr",
                f"call-{call_id}",
                ivr.CallArrived(call_id=call_id, ani="+33600000003", dnis="+3311", at=ago(days)),
            )
            if call_id == "c1":
                assert tier(few) == "small"
        assert tier(few) == "ordinary"
        # Value: raising Mid's value makes them key.
        client.patch(f"/v1/customers/{mid['id']}", headers=AGENT,
                     json={"attributes": {"annual_value": "150000"}})  # fmt: skip
        assert tier(mid) == "key_important"

        # Churn: two abandoned calls in the window.
        feed(
            "routing",
            "acme",
            routing.CallQueued(call_id="c1", queue_id="q", position=1, at=ago(3)),
            routing.CallAbandoned(call_id="c1", queue_id="q", wait=60, position=1, at=ago(3)),
        )
        assert segments()["at_risk"]["ordinary"] == 0
        feed(
            "routing",
            "acme",
            routing.CallQueued(call_id="c2", queue_id="q", position=1, at=ago(1)),
            routing.CallAbandoned(call_id="c2", queue_id="q", wait=60, position=1, at=ago(1)),
        )
        assert segments()["at_risk"] == {"key_important": 0, "key_secondary": 0,
                                         "ordinary": 1, "small": 0}  # fmt: skip
        feed(
            "ivr",
            "call-c3",
            ivr.CallArrived(call_id="c3", ani="+33600000003", dnis="+3311", at=ago(0)),
        )
        assert client.get("/v1/screen-pop/c3", headers=AGENT).json()["churn_risk"] is True

        # A work order past its SLA and unresolved: at risk until it is resolved.
        feed(
            "workorders",
            "ticket-t1",
            workorders.TicketOpened(
                ticket_id="t1", type="question", customer_id=big["id"], at=ago(2)
            ),
            workorders.TicketSlaBreached(
                ticket_id="t1", metric="resolution", due_at=ago(1), at=ago(1)
            ),
        )
        assert segments()["at_risk"]["key_important"] == 1
        feed("workorders", "ticket-t1", workorders.TicketResolved(ticket_id="t1", at=ago(0)))
        assert segments()["at_risk"]["key_important"] == 0
        # Two complaints: a complaint work order and a poor CSAT score.
        feed(
            "workorders",
            "ticket-t2",
            workorders.TicketOpened(ticket_id="t2", type="complaint", call_id="c3", at=ago(0)),
        )
        feed("ivr", "call-c3", ivr.SurveyAnswered(call_id="c3", question="overall", score=1))
        final = segments()
        assert final["at_risk"]["ordinary"] == 1
        assert sum(final["customers"].values()) == 3

    async def replay() -> None:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                events = await store.read_stream(conn, f"customer:{few['id']}")
            changes = [e for e in events if e.type == "CustomerUpdated"]
            assert [(e.subject, e.data.tier) for e in changes] == [
                ("crm.segments", "small"),
                ("crm.segments", "ordinary"),
            ]
            async with db.transaction() as conn:
                assert await rebuild_customers(conn) == 3
        finally:
            await db.dispose()

    asyncio.run(replay())
    with crm_offline() as client:
        assert client.get("/v1/segments", headers=AGENT).json() == final
