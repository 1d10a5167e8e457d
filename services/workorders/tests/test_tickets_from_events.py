"""Tickets opened from other services' events: a voicemail left in the IVR travels
through the real broker and becomes a ticket; the handler is idempotent."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from callcenter.events import store
from callcenter.events.bus import KafkaSettings
from callcenter.events.catalogue import ivr, routing
from callcenter.events.catalogue.base import Event
from callcenter.events.db import Database
from callcenter.events.envelope import new_envelope, utcnow
from callcenter.events.kit.auth import Role, issue_token
from callcenter.events.kit.migrations import upgrade
from callcenter.events.testing import publish_streams
from callcenter.workorders.app import create_app
from callcenter.workorders.consumers import Rule, follow_up_title, follow_up_type, ticket_opener
from callcenter.workorders.settings import Settings
from callcenter.workorders.store.tables import (
    follow_up_types,
    ticket_rules,
    tickets,
    waiting_calls,
)

KEY = "workorders-event-tests-signing-key-32-bytes"
SUPERVISOR = {
    "Authorization": "Bearer "
    + issue_token(KEY, subject="sam", tenant="acme", roles=[Role.SUPERVISOR])
}


def ivr_publishes(tmp_path: Path, kafka: KafkaSettings, calls: dict[str, list[Event]]) -> None:
    """The IVR appends each call's events to its own store; its relay publishes them."""
    streams = {f"call-{call_id}": events for call_id, events in calls.items()}
    publish_streams(kafka, tmp_path / "ivr.db", "ivr", streams)


def service_on_the_broker(database_url: str, kafka: KafkaSettings, tmp_path: Path) -> TestClient:
    upgrade("callcenter.workorders", database_url)
    settings = Settings(database_url=database_url, kafka=kafka, data_dir=tmp_path,
                        signing_key=KEY, tick_seconds=3600)  # fmt: skip
    return TestClient(create_app(settings))


def wait_for_ticket(client: TestClient, ticket_id: str) -> dict:
    deadline = time.monotonic() + 30
    while (answer := client.get(f"/v1/tickets/{ticket_id}", headers=SUPERVISOR)).status_code == 404:
        assert time.monotonic() < deadline, f"no ticket {ticket_id}"
        time.sleep(0.05)
    return answer.json()


@pytest.mark.broker
def test_a_voicemail_in_the_ivr_becomes_a_ticket(database_url, kafka, tmp_path):
    with service_on_the_broker(database_url, kafka, tmp_path) as client:
        ivr_publishes(tmp_path, kafka, {
            "c1": [ivr.CallArrived(call_id="c1", ani="+33628123456", dnis="+3311"),
                   ivr.VoicemailRecorded(call_id="c1", recording_uri="s3://vm/c1.wav",
                                         duration=42, customer_id="cus-9")],
            "c2": [ivr.CallArrived(call_id="c2", ani="+33628000000", dnis="+3311")],
        })  # fmt: skip
        ticket = wait_for_ticket(client, "vm-c1")
        assert (ticket["source"], ticket["type"], ticket["status"]) == (
            "voicemail",
            "inquiry",
            "new",
        )
        assert (ticket["customer_id"], ticket["call_id"]) == ("cus-9", "c1")
        assert ticket["title"] == "Voicemail (42 s)"
        listed = client.get("/v1/tickets", headers=SUPERVISOR).json()["items"]
        assert [item["ticket_id"] for item in listed] == ["vm-c1"]


def test_the_handler_opens_one_ticket_per_voicemail_and_callback(database_url, tmp_path):
    upgrade("callcenter.workorders", database_url)
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    handle = ticket_opener(settings)
    voicemail = ivr.VoicemailRecorded(call_id="c1", recording_uri="u", duration=3)
    gave_up = routing.CallbackCompleted(callback_id="cb1", call_id="c2", number="+331",
                                        queue_id="q", outcome="gave_up", at=utcnow())  # fmt: skip
    connected = gave_up.model_copy(update={"callback_id": "cb2", "outcome": "connected"})

    async def go() -> list[tuple[str, str]]:
        db = Database(database_url)
        try:
            for data in (voicemail, voicemail, gave_up, connected):
                envelope = new_envelope(data, source="x", tenant="acme", stream_id="s",
                                        stream_version=1, correlation_id="corr")  # fmt: skip
                async with db.transaction() as conn:
                    await handle(conn, envelope)
            async with db.read() as conn:
                rows = await conn.execute(select(tickets.c.ticket_id, tickets.c.status))
                count = await conn.scalar(select(func.count()).select_from(store.events))
                assert count == 6  # two tickets, each opened with two clocks
                return sorted((row.ticket_id, row.status) for row in rows)
        finally:
            await db.dispose()

    assert asyncio.run(go()) == [("cb-cb1", "new"), ("vm-c1", "new")]


def test_abandoned_calls_of_known_customers_and_tenant_rules(database_url, tmp_path):
    upgrade("callcenter.workorders", database_url)
    handle = ticket_opener(Settings(database_url=database_url, data_dir=tmp_path))
    at = utcnow()

    def queued(call_id: str, customer_id: str | None) -> Event:
        return routing.CallQueued(call_id=call_id, queue_id="q", position=1,
                                  customer_id=customer_id, at=at)  # fmt: skip

    def abandoned(call_id: str) -> Event:
        return routing.CallAbandoned(call_id=call_id, queue_id="q", wait=75, position=1, at=at)

    async def go() -> list[tuple[str, str, str | None]]:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(ticket_rules.insert().values(
                    tenant="globex", trigger="voicemail", ticket_type=None, priority="normal"
                ))  # fmt: skip
                await conn.execute(ticket_rules.insert().values(
                    tenant="acme", trigger="abandoned_call", ticket_type="repair", priority="high"
                ))  # fmt: skip
            sequence = [
                ("acme", queued("k1", "cus-1")), ("acme", abandoned("k1")),  # known: ticket
                ("acme", queued("k2", None)), ("acme", abandoned("k2")),  # unknown caller
                ("acme", queued("k3", "cus-3")),
                ("acme", routing.CallAnswered(call_id="k3", queue_id="q", agent_id="a",
                                              wait=3, ring=1, at=at)),
                ("acme", abandoned("k3")),  # answered before: no ticket
                ("globex", ivr.VoicemailRecorded(call_id="g1", recording_uri="u", duration=1)),
            ]  # fmt: skip
            for tenant, data in sequence:
                envelope = new_envelope(data, source="x", tenant=tenant, stream_id="s",
                                        stream_version=1, correlation_id="corr")  # fmt: skip
                async with db.transaction() as conn:
                    await handle(conn, envelope)
            async with db.read() as conn:
                rows = await conn.execute(
                    select(
                        tickets.c.ticket_id,
                        tickets.c.type,
                        tickets.c.priority,
                        tickets.c.customer_id,
                    )
                )
                assert await conn.scalar(select(func.count()).select_from(waiting_calls)) == 0
                return sorted(tuple(row) for row in rows)
        finally:
            await db.dispose()

    assert asyncio.run(go()) == [("ab-k1", "repair", "high", "cus-1")]


def test_a_follow_up_takes_its_dispositions_type_else_the_rules():
    rule = Rule("inquiry", "high")
    mapping = {"broken": "repair"}
    assert follow_up_type("broken", mapping, rule) == "repair"
    assert follow_up_type("question", mapping, rule) == "inquiry"
    assert follow_up_type("question", mapping, Rule(None)) is None
    assert follow_up_type("broken", mapping, Rule(None)) == "repair"
    assert follow_up_title("broken") == "Follow-up: broken"
    assert len(follow_up_title("x" * 600)) == 500


def dispositioned(call_id: str, disposition: str, follow_up: bool = True, **fields) -> Event:
    return routing.CallDispositioned(
        call_id=call_id, agent_id="bob", queue_id="billing", disposition=disposition,
        notes=f"call back {call_id} about the invoice", follow_up=follow_up, at=utcnow(),
        **fields,
    )  # fmt: skip


def test_a_call_dispositioned_with_follow_up_opens_one_ticket(database_url, tmp_path):
    upgrade("callcenter.workorders", database_url)
    handle = ticket_opener(Settings(database_url=database_url, data_dir=tmp_path))

    async def go() -> list[tuple]:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(follow_up_types.insert().values(
                    tenant="acme", disposition="broken", ticket_type="repair"
                ))  # fmt: skip
                await conn.execute(ticket_rules.insert().values(
                    tenant="globex", trigger="follow_up", ticket_type=None, priority="normal"
                ))  # fmt: skip
            sequence = [
                ("acme", dispositioned("c1", "broken", customer_id="cus-1")),
                ("acme", dispositioned("c1", "broken", customer_id="cus-1")),  # redelivered
                ("acme", dispositioned("c2", "question")),  # unmapped: the default type
                ("acme", dispositioned("c3", "sale", follow_up=False)),  # no follow-up
                ("globex", dispositioned("g1", "question")),  # the tenant turned them off
            ]
            for tenant, data in sequence:
                envelope = new_envelope(data, source="x", tenant=tenant, stream_id=tenant,
                                        stream_version=1, correlation_id="corr")  # fmt: skip
                async with db.transaction() as conn:
                    await handle(conn, envelope)
            async with db.read() as conn:
                rows = await conn.execute(select(
                    tickets.c.tenant, tickets.c.ticket_id, tickets.c.type, tickets.c.title,
                    tickets.c.customer_id, tickets.c.call_id, tickets.c.sla_state,
                ))  # fmt: skip
                opened = await store.read_stream(conn, "ticket:fu-c1")
                assert [e.type for e in opened].count("TicketOpened") == 1
                first = opened[0].data
                assert (first.source, first.description, first.sla_policy) == (
                    "call",
                    "call back c1 about the invoice",
                    "repair",  # the type's SLA policy
                )
                return sorted(tuple(row) for row in rows)
        finally:
            await db.dispose()

    assert asyncio.run(go()) == [
        ("acme", "fu-c1", "repair", "Follow-up: broken", "cus-1", "c1", "ok"),
        ("acme", "fu-c2", "inquiry", "Follow-up: question", None, "c2", "ok"),
    ]


@pytest.mark.broker
def test_a_follow_up_asked_in_routing_becomes_a_ticket(database_url, kafka, tmp_path):
    with service_on_the_broker(database_url, kafka, tmp_path) as client:
        publish_streams(kafka, tmp_path / "routing.db", "routing", {
            "acme": [dispositioned("c7", "broken", customer_id="cus-7"),
                     dispositioned("c8", "sale", follow_up=False)],
        })  # fmt: skip
        ticket = wait_for_ticket(client, "fu-c7")
        assert (ticket["source"], ticket["type"], ticket["title"], ticket["description"]) == (
            "call",
            "inquiry",
            "Follow-up: broken",
            "call back c7 about the invoice",
        )
        assert (ticket["customer_id"], ticket["call_id"]) == ("cus-7", "c7")
        assert ticket["sla_policy"] == "inquiry"  # the type's SLA policy
        listed = client.get("/v1/tickets", headers=SUPERVISOR).json()["items"]
        assert [item["ticket_id"] for item in listed] == ["fu-c7"]
