"""The screen pop through the real broker: the IVR's events, relayed from its own store,
reach the CRM's consumer, which identifies the caller; an agent reads the card."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from callcenter.crm.app import create_app
from callcenter.crm.store.tables import card_reads
from callcenter.events import store
from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue import ivr
from callcenter.events.catalogue.base import Event
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.testing import publish_streams

pytestmark = pytest.mark.broker

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"  # as in conftest.py


def token(role: Role = Role.AGENT, subject: str = "alice", tenant: str = "acme") -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_token(KEY, subject=subject, tenant=tenant, roles=[role])}"
    }


AGENT = token()


def ivr_calls(tmp_path: Path, kafka: KafkaSettings, calls: dict[str, list[Event]]) -> None:
    """The IVR appends each call's events to its own store; its relay publishes them."""
    streams = {f"call-{call_id}": events for call_id, events in calls.items()}
    publish_streams(kafka, tmp_path / "ivr.db", "ivr", streams)


def wait_for_screen_pop(client: TestClient, call_id: str, within: float = 20.0):
    deadline = time.monotonic() + within
    while True:
        answer = client.get(f"/v1/screen-pop/{call_id}", headers=AGENT)
        if answer.status_code != 404 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def read_db(database_url: str, query):
    async def go():
        db = Database(database_url)
        try:
            async with db.read() as conn:
                return await query(conn)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_an_arriving_caller_is_identified_and_the_agent_sees_the_card(
    crm_settings, database_url, kafka, tmp_path
):
    with TestClient(create_app(crm_settings())) as client:
        lea = client.post(
            "/v1/customers",
            json={"first_name": "Léa", "last_name": "Martin", "tier": "key_important",
                  "phones": ["06 28 12 34 56"]},
            headers=AGENT,
        ).json()  # fmt: skip
        ivr_calls(
            tmp_path,
            kafka,
            {
                "c0": [ivr.CallArrived(call_id="c0", ani="+33628123456", dnis="+3311")],
                "c1": [
                    ivr.CallArrived(call_id="c1", ani="+33 6 28 12 34 56", dnis="+3311"),
                    ivr.IvrNodeEntered(call_id="c1", node_id="welcome", node_type="menu"),
                    ivr.IvrInputReceived(call_id="c1", node_id="welcome", node_type="menu",
                                         digits="2"),
                    ivr.IvrNodeEntered(call_id="c1", node_id="billing", node_type="queue"),
                ],
                "c2": [ivr.CallArrived(call_id="c2", ani="+33 1 42 68 53 00", dnis="+3311")],
                "c3": [ivr.CallArrived(call_id="c3", ani="anonymous", dnis="+3311")],
            },
        )  # fmt: skip

        pop = wait_for_screen_pop(client, "c1")
        assert pop.status_code == 200, pop.text
        # The path's last step arrives after the call itself: wait for all of it.
        deadline = time.monotonic() + 10
        while len(pop.json()["ivr_path"]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            pop = client.get("/v1/screen-pop/c1", headers=AGENT)
        card = pop.json()
        assert card["identified"] is True
        assert card["customer"]["id"] == lea["id"]
        assert card["customer"]["last_name"] == "Martin"
        assert card["tier"] == "key_important"
        assert [(s["kind"], s["node_id"], s["digits"]) for s in card["ivr_path"]] == [
            ("node", "welcome", ""),
            ("input", "welcome", "2"),
            ("node", "billing", ""),
        ]
        assert wait_for_screen_pop(client, "c0").json()["ivr_path"] == []
        assert [i["call_id"] for i in card["last_interactions"]] == ["c0"]

        unknown = wait_for_screen_pop(client, "c2").json()
        assert unknown["identified"] is False
        assert unknown["customer"] is None
        assert wait_for_screen_pop(client, "c3").json()["identified"] is False

        # Another tenant sees none of it; a call not seen yet is a 404.
        assert client.get("/v1/screen-pop/c1", headers=token(tenant="globex")).status_code == 404
        assert client.get("/v1/screen-pop/nope", headers=AGENT).status_code == 404

        text = {"text": "Asked about her March invoice"}
        note = client.post(f"/v1/customers/{lea['id']}/notes", json=text, headers=AGENT)
        assert note.status_code == 201, note.text
        entries = client.get(f"/v1/customers/{lea['id']}/timeline", headers=AGENT).json()
        assert [e["kind"] for e in entries] == ["note", "call", "call"]
        assert entries[0]["text"] == "Asked about her March invoice"
        assert entries[0]["author"] == "alice"
        assert sorted(e["call_id"] for e in entries[1:]) == ["c0", "c1"]
        c1 = next(e for e in entries if e.get("call_id") == "c1")
        assert [step["node_id"] for step in c1["ivr_path"]] == ["welcome", "welcome", "billing"]
        again = client.get("/v1/screen-pop/c1", headers=AGENT).json()
        assert [e["kind"] for e in again["last_interactions"]] == ["note", "call"]

        export = client.get(f"/v1/customers/{lea['id']}/export", headers=token(Role.ADMIN))
        assert client.get(f"/v1/customers/{lea['id']}/export", headers=AGENT).status_code == 403
        held = export.json()
        assert held["customer"]["last_name"] == "Martin"
        assert [n["text"] for n in held["notes"]] == ["Asked about her March invoice"]
        assert sorted(c["call_id"] for c in held["calls"]) == ["c0", "c1"]
        assert {c["ani"] for c in held["calls"]} == {"+33628123456"}
        assert {r["call_id"] for r in held["access_log"]} >= {"c0", "c1"}
        assert [e["type"] for e in held["events"]] == ["CustomerCreated", "NoteAdded"]

    identified = read_db(database_url, lambda conn: store.read_stream(conn, "call:c1"))
    assert [(e.type, e.data.customer_id, e.data.tier) for e in identified] == [
        ("CustomerIdentified", lea["id"], "key_important")
    ]
    assert identified[0].tenant == "acme"
    assert [e.type for e in read_db(database_url, lambda c: store.read_stream(c, "call:c2"))] == [
        "CallerUnknown"
    ]
    reads = read_db(database_url, lambda conn: conn.execute(select(card_reads)))
    reads = [(r.subject, r.customer_id, r.call_id) for r in reads]
    # Reads of Léa's card for c1 and c0, her timeline and export (subject alice in both
    # tokens); unknown callers show no card.
    assert set(reads) == {
        ("alice", lea["id"], "c1"),
        ("alice", lea["id"], "c0"),
        ("alice", lea["id"], None),
    }  # fmt: skip
    assert reads.count(("alice", lea["id"], "c1")) >= 2  # each read of the card, the polls included
