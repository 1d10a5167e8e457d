"""One timeline of every contact: calls as routing handled them (queue, wait, agent, talk
time, outcome) with their IVR path and CSAT answers, callbacks, work orders and their
steps, notes, and SMS/emails posted by integrators; the screen pop shows the open work
orders and the last ten. Events are handed to the consumers' handlers here (the broker
test is in test_timeline_broker.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from callcenter.events import store
from callcenter.events.catalogue import ivr, routing, workorders
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def headers(role: Role = Role.AGENT, tenant: str = "acme") -> dict[str, str]:
    bearer = issue_token(KEY, subject="sms-gateway", tenant=tenant, roles=[role])
    return {"Authorization": f"Bearer {bearer}"}


AGENT = headers()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def first_call(feed) -> None:
    feed(
        "ivr",
        "call-c1",
        ivr.CallArrived(call_id="c1", ani="06 28 12 34 56", dnis="+3311", at=at(0)),
        ivr.IvrNodeEntered(call_id="c1", node_id="welcome", node_type="menu"),
        time=at(0),
    )
    feed(
        "routing",
        "acme",
        routing.CallQueued(call_id="c1", queue_id="billing", position=1, at=at(1)),
        routing.CallAnswered(
            call_id="c1", agent_id="bob", queue_id="billing", wait=45, ring=3, at=at(1.75)
        ),
        routing.CallEnded(
            call_id="c1",
            agent_id="bob",
            queue_id="billing",
            talk=120,
            ended_by="caller",
            at=at(3.75),
        ),
    )
    feed(
        "ivr",
        "call-c1",
        ivr.SurveyAnswered(call_id="c1", agent_id="bob", question="overall", score=2),
        time=at(4),
    )
    feed(
        "workorders",
        "ticket-t1",
        workorders.TicketOpened(
            ticket_id="t1", type="complaint", call_id="c1", title="Refund for Martin", at=at(5)
        ),
        workorders.TicketDispatched(ticket_id="t1", by="bob", to="billing-team", at=at(6)),
        workorders.TicketSlaBreached(ticket_id="t1", metric="resolution", due_at=at(60), at=at(60)),
    )


def test_the_timeline_holds_every_contact_and_the_pop_shows_open_work(
    crm_offline, feed, database_url
):
    with crm_offline() as client:
        lea = client.post(
            "/v1/customers",
            headers=AGENT,
            json={"last_name": "Martin", "phones": ["06 28 12 34 56"]},
        ).json()
        first_call(feed)
        feed(
            "routing",
            "acme",
            routing.CallQueued(call_id="c0", queue_id="sales", position=2, at=at(-60)),
            routing.CallAbandoned(
                call_id="c0", queue_id="sales", wait=30, position=1, at=at(-59.5)
            ),
            routing.CallbackRequested(
                callback_id="cb1", call_id="c0", number="+33628123456", queue_id="sales", at=at(-59)
            ),
            routing.CallbackCompleted(
                callback_id="cb1",
                call_id="c0",
                number="+33628123456",
                queue_id="sales",
                agent_id="carol",
                outcome="connected",
                at=at(-30),
            ),
        )
        # Routing's events about c0 came first; the IVR's arrival later: order does not matter.
        feed(
            "ivr",
            "call-c0",
            ivr.CallArrived(call_id="c0", ani="+33628123456", dnis="+3311", at=at(-61)),
        )
        feed(
            "workorders",
            "ticket-t2",
            workorders.TicketOpened(
                ticket_id="t2", type="question", customer_id=lea["id"], at=at(7)
            ),
            workorders.TicketResolved(ticket_id="t2", by="bob", at=at(8)),
        )
        url = f"/v1/customers/{lea['id']}"
        sms = client.post(
            f"{url}/interactions",
            headers=headers(Role.INTEGRATOR),
            json={
                "channel": "sms",
                "direction": "outbound",
                "at": at(10).isoformat(),
                "summary": "Your refund is on its way",
            },
        )
        assert sms.status_code == 201, sms.text
        for body, field in (
            ({"channel": "pigeon", "direction": "inbound"}, "body.channel"),
            ({"channel": "sms"}, "body.direction"),
            ({"channel": "sms", "direction": "inbound", "at": "yesterday"}, "body.at"),
            ({"channel": "sms", "direction": "inbound", "summary": "x" * 5001}, "body.summary"),
        ):
            bad = client.post(f"{url}/interactions", headers=AGENT, json=body)
            assert bad.status_code == 422, body
            assert bad.headers["content-type"] == "application/problem+json"
            assert bad.json()["errors"][0]["field"] == field
        assert (
            client.post(
                f"{url}/interactions",
                headers=headers(tenant="globex"),
                json={"channel": "sms", "direction": "inbound"},
            ).status_code
            == 404
        )

        entries = client.get(f"{url}/timeline", headers=AGENT).json()
        assert [
            (e["kind"], e.get("ticket_id") or e.get("call_id") or e.get("channel")) for e in entries
        ] == [
            ("interaction", "sms"),
            ("work_order", "t2"),
            ("work_order", "t1"),
            ("call", "c1"),
            ("callback", "c0"),
            ("call", "c0"),
        ]
        sms_entry, t2, t1, c1, cb1, c0 = entries
        assert sms_entry["summary"] == "Your refund is on its way"
        assert sms_entry["author"] == "sms-gateway"
        assert (t1["type"], t1["status"], t1["breached"]) == ("complaint", "open", True)
        assert [s["step"] for s in t1["steps"]] == [
            "TicketOpened",
            "TicketDispatched",
            "TicketSlaBreached",
        ]
        assert t2["status"] == "resolved"
        assert "title" not in t1  # a ticket's title may name people: not kept
        assert (c1["queue_id"], c1["wait"], c1["agent_id"], c1["duration"], c1["outcome"]) == (
            "billing",
            45,
            "bob",
            120,
            "answered",
        )
        assert c1["ivr_path"] == [{"kind": "node", "node_id": "welcome", "digits": ""}]
        assert c1["csat"] == [{"question": "overall", "score": 2}]
        assert (c0["outcome"], c0["wait"], c0.get("agent_id")) == ("abandoned", 30, None)
        assert (cb1["outcome"], cb1["agent_id"], cb1["callback_id"]) == (
            "connected",
            "carol",
            "cb1",
        )

        # The next call: identified with the agent who answered her last, and popped with
        # her open work orders and her last contacts.
        feed(
            "ivr",
            "call-c2",
            ivr.CallArrived(call_id="c2", ani="+33628123456", dnis="+3311", at=at(20)),
        )
        pop = client.get("/v1/screen-pop/c2", headers=AGENT).json()
        assert [w["ticket_id"] for w in pop["open_work_orders"]] == ["t1"]
        assert pop["open_work_orders"][0]["breached"] is True
        assert [e["kind"] for e in pop["last_interactions"]][:2] == ["interaction", "work_order"]
        assert len(pop["last_interactions"]) == 6
        held = client.get(f"{url}/export", headers=headers(Role.ADMIN)).json()
        assert {e["kind"] for e in held["timeline"]} == {
            "interaction",
            "work_order",
            "call",
            "callback",
        }
        assert len(held["timeline"]) == 7  # c2 too

    async def identified() -> list:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await store.read_stream(conn, "call:c2")
        finally:
            await db.dispose()

    [event] = asyncio.run(identified())
    assert (event.type, event.data.customer_id, event.data.preferred_agent_id) == (
        "CustomerIdentified",
        lea["id"],
        "bob",
    )


def test_the_screen_pop_shows_only_the_last_ten_contacts(crm_offline, feed):
    with crm_offline() as client:
        lea = client.post(
            "/v1/customers",
            headers=AGENT,
            json={"last_name": "Martin", "phones": ["06 28 12 34 56"]},
        ).json()
        for minute in range(12):
            client.post(
                f"/v1/customers/{lea['id']}/interactions",
                headers=AGENT,
                json={"channel": "email", "direction": "inbound", "at": at(minute).isoformat()},
            )
        feed(
            "ivr",
            "call-c9",
            ivr.CallArrived(call_id="c9", ani="0628123456", dnis="+3311", at=at(30)),
        )
        pop = client.get("/v1/screen-pop/c9", headers=AGENT).json()
        assert [e["at"][:16] for e in pop["last_interactions"]] == [
            at(minute).isoformat()[:16] for minute in range(11, 1, -1)
        ]
