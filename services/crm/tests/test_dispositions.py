"""How agents dispositioned calls, on the customer's timeline and the screen pop: routing's
CallDispositioned (its customer resolved from the call when the event names none) and
ContactDispositioned (campaign calls). The notes are kept sealed with the customer's key;
applying an event twice changes nothing. Events are handed to the routing consumer's
handler here; the broker test is in test_timeline_broker.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from callcenter.crm.store.tables import dispositions
from callcenter.events.catalogue import ivr, routing
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BEARER = issue_token(KEY, subject="alice", tenant="acme", roles=[Role.AGENT])
AGENT = {"Authorization": f"Bearer {BEARER}"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def call_dispositioned(call_id: str, **fields) -> routing.CallDispositioned:
    values = {"call_id": call_id, "agent_id": "bob", "queue_id": "billing",
              "disposition": "refund_promised", "notes": "Refund of 42 EUR by Friday",
              "follow_up": True, "at": at(5)} | fields  # fmt: skip
    return routing.CallDispositioned(**values)


def stored_rows(database_url: str) -> dict[str, tuple]:
    async def go() -> dict[str, tuple]:
        db = Database(database_url)
        try:
            async with db.read() as conn:
                rows = await conn.execute(select(dispositions))
                return {row.call_id: (row.customer_id, row.notes, row.sealed) for row in rows}
        finally:
            await db.dispose()

    return asyncio.run(go())


def create_lea(client) -> dict:
    body = {"last_name": "Martin", "phones": ["0628123456"]}
    return client.post("/v1/customers", headers=AGENT, json=body).json()


def test_dispositions_show_on_the_timeline_and_the_pop_with_their_notes_sealed(
    crm_offline, feed, database_url
):
    with crm_offline() as client:
        lea = create_lea(client)
        feed(
            "ivr",
            "call-c1",
            ivr.CallArrived(call_id="c1", ani="06 28 12 34 56", dnis="+3311", at=at(0)),
        )
        feed("routing", "acme", call_dispositioned("c1"))  # names no customer: the call's
        campaign_call = routing.ContactDispositioned(
            campaign_id="spring", contact_id="k1", call_id="o1", agent_id="carol",
            disposition="callback", completed=False, notes="Call back after lunch",
            customer_id=lea["id"], callback_at=at(240), at=at(30),
        )  # fmt: skip
        feed("routing", "acme", campaign_call)
        feed("routing", "acme", campaign_call)  # delivered again: nothing twice
        feed("routing", "acme", call_dispositioned("x9", notes="Someone else"))  # unknown call

        entries = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert [(e["kind"], e["call_id"]) for e in entries] == [
            ("disposition", "o1"),
            ("disposition", "c1"),
            ("call", "c1"),
        ]
        contact, call = entries[0], entries[1]
        assert {k: call[k] for k in ("agent_id", "queue_id", "disposition", "notes")} == {
            "agent_id": "bob",
            "queue_id": "billing",
            "disposition": "refund_promised",
            "notes": "Refund of 42 EUR by Friday",
        }
        assert call["follow_up"] is True and "campaign_id" not in call
        assert (contact["campaign_id"], contact["contact_id"], contact["completed"]) == (
            "spring",
            "k1",
            False,
        )
        assert (contact["notes"], contact["callback_at"][:16]) == (
            "Call back after lunch",
            at(240).isoformat()[:16],
        )
        rows = stored_rows(database_url)
        assert rows["c1"][0] == rows["o1"][0] == lea["id"]
        assert rows["c1"][2] and rows["o1"][2]  # sealed
        assert "Refund" not in rows["c1"][1] and "lunch" not in rows["o1"][1]
        assert rows["x9"] == (None, "Someone else", False)  # no customer to seal it for

        feed("ivr", "call-c2", ivr.CallArrived(call_id="c2", ani="0628123456", dnis="+3311"))
        pop = client.get("/v1/screen-pop/c2", headers=AGENT).json()
        shown = [(e["kind"], e.get("disposition")) for e in pop["last_interactions"]]
        assert shown[:2] == [("disposition", "callback"), ("disposition", "refund_promised")]

        # A later disposition of the same call replaces the earlier.
        feed("routing", "acme", call_dispositioned("c1", disposition="resolved", at=at(6)))
        entries = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert [e["disposition"] for e in entries if e["kind"] == "disposition"] == [
            "callback",
            "resolved",
        ]


def test_a_disposition_before_the_calls_arrival_is_sealed_once_identified(
    crm_offline, feed, database_url
):
    with crm_offline() as client:
        lea = create_lea(client)
        feed("routing", "acme", call_dispositioned("c1"))  # the IVR's topic is behind
        assert stored_rows(database_url)["c1"] == (None, "Refund of 42 EUR by Friday", False)
        feed("ivr", "call-c1", ivr.CallArrived(call_id="c1", ani="0628123456", dnis="+3311"))
        customer_id, sealed_notes, sealed = stored_rows(database_url)["c1"]
        assert (customer_id, sealed) == (lea["id"], True)
        assert "Refund" not in sealed_notes
        entries = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert [e.get("notes") for e in entries if e["kind"] == "disposition"] == [
            "Refund of 42 EUR by Friday"
        ]

        # Erased: the notes are blanked, and a replayed disposition keeps none.
        admin = issue_token(KEY, subject="root", tenant="acme", roles=[Role.ADMIN])
        erased = client.delete(
            f"/v1/customers/{lea['id']}", headers={"Authorization": f"Bearer {admin}"}
        )
        assert erased.status_code == 200, erased.text
        assert stored_rows(database_url)["c1"] == (lea["id"], "", False)
        feed("routing", "acme", call_dispositioned("c1"))
        assert stored_rows(database_url)["c1"] == (lea["id"], "", False)
