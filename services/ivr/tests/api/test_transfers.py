"""Transfers (issue 11): the caller stays when only the agent's part ends; an external
transfer connects the caller to the number (JSON, TwiML) and the provider is told."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from callcenter.events.catalogue.routing import (
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
)
from callcenter.events.db import Database
from callcenter.ivr.store.tables import webhooks
from callcenter.ivr.webhooks.sender import WebhookSender

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SECRET = "a-callback-secret-for-tests"
NUMBER = "+18005551212"


def queued_call(client, bearer, menu_flow, call_id: str, check) -> None:
    assert client.put("/v1/flows/main", json=menu_flow(), headers=bearer()).status_code == 201
    client.put(f"/v1/numbers/{NUMBER}", json={"flow_id": "main", "version": 1}, headers=bearer())
    settings = {"status_callback_url": "https://pbx.example/cb", "status_callback_secret": SECRET}
    assert client.put("/v1/telephony", json=settings, headers=bearer()).status_code == 200
    started = client.post(
        "/v1/twilio/voice", data={"CallSid": call_id, "From": "+15557654321", "To": NUMBER}
    )
    assert started.status_code == 200
    pressed = client.post(
        "/v1/twilio/gather", data={"CallSid": call_id, "To": NUMBER, "Digits": "1"}
    )
    assert check(pressed.text)[-1].tag == "Enqueue"


def routing(call_id: str, *rest):
    return (
        CallQueued(call_id=call_id, queue_id="sales", position=1, at=AT),
        CallAnswered(call_id=call_id, agent_id="a1", queue_id="sales", wait=5, ring=1, at=AT),
        *rest,
        CallEnded(
            call_id=call_id,
            agent_id="a1",
            queue_id="sales",
            talk=60,
            ended_by="agent",
            transferred=True,
            at=AT,
        ),
    )


def outbox(database_url: str) -> list[dict]:
    async def read() -> list[dict]:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (await conn.execute(select(webhooks).order_by(webhooks.c.id))).all()
        await db.dispose()
        return [json.loads(row.body) for row in rows]

    return asyncio.run(read())


def test_the_caller_is_not_hung_up_after_an_internal_transfer(
    client, queues, bearer, menu_flow, deliver, database_url, assert_valid_twiml
):
    queued_call(client, bearer, menu_flow, "CA1", assert_valid_twiml)
    blind = CallTransferred(
        call_id="CA1", from_agent_id="a1", to_queue_id="general", queue_id="sales", at=AT
    )
    queued_there = CallQueued(call_id="CA1", queue_id="general", position=1, at=AT)
    deliver(database_url, "acme", *routing("CA1", blind, queued_there))

    view = client.get("/v1/calls/CA1", headers=bearer()).json()
    assert (view["status"], view["hung_up_by"]) == ("left_ivr", None)
    after = client.get("/v1/calls/CA1/next", headers=bearer()).json()
    assert after["state"] == "transferring"
    assert after["instructions"] == [
        {"type": "enqueue", "queue": "general", "skills": {}, "priority": 0, "hold_music": None}
    ]
    sent = {body["type"]: body for body in outbox(database_url)}
    assert sent["CallTransferred"]["instructions"][0]["type"] == "enqueue"
    assert sent["CallEnded"]["instructions"] == []  # the agent's part only: the caller stays

    # Twilio: the bridge with the first agent ended; the caller waits in the new queue.
    left = client.post(
        "/v1/twilio/next", data={"CallSid": "CA1", "To": NUMBER, "QueueResult": "bridged"}
    )
    root = assert_valid_twiml(left.text)
    assert [(verb.tag, verb.text) for verb in root] == [("Enqueue", "general")]
    assert root[0].attrib["action"] == "/v1/twilio/next"

    # The second agent answers, then ends the call: now the caller is hung up.
    deliver(
        database_url,
        "acme",
        CallAnswered(call_id="CA1", agent_id="a2", queue_id="general", wait=5, ring=1, at=AT),
        CallEnded(
            call_id="CA1", agent_id="a2", queue_id="general", talk=9, ended_by="agent", at=AT
        ),
    )
    final = client.get("/v1/calls/CA1/next", headers=bearer()).json()
    assert (final["state"], final["instructions"]) == ("ended", [{"type": "hangup"}])
    ended = [body for body in outbox(database_url) if body["type"] == "CallEnded"]
    assert ended[-1]["instructions"] == [{"type": "hangup"}]
    done = client.post(
        "/v1/twilio/next", data={"CallSid": "CA1", "To": NUMBER, "QueueResult": "bridged"}
    )
    assert [verb.tag for verb in assert_valid_twiml(done.text)] == ["Hangup"]


def test_an_external_transfer_dials_the_number_and_the_provider_is_told(
    client, queues, bearer, menu_flow, deliver, database_url, ivr_database, assert_valid_twiml
):
    queued_call(client, bearer, menu_flow, "CA2", assert_valid_twiml)
    external = CallTransferred(
        call_id="CA2", from_agent_id="a1", kind="external", number="+15559870000", at=AT
    )
    deliver(database_url, "acme", *routing("CA2", external), clock=lambda: 1000.0)

    after = client.get("/v1/calls/CA2/next", headers=bearer()).json()
    assert after["state"] == "external"
    assert after["instructions"] == [{"type": "transfer", "number": "+15559870000"}]
    left = client.post(
        "/v1/twilio/next", data={"CallSid": "CA2", "To": NUMBER, "QueueResult": "bridged"}
    )
    root = assert_valid_twiml(left.text)
    assert ET.tostring(root) == ET.tostring(
        ET.fromstring(
            '<?xml version="1.0" encoding="UTF-8"?><Response><Dial>+15559870000</Dial></Response>'
        )
    )

    received: list[httpx.Request] = []

    async def send() -> None:
        db = ivr_database()
        transport = httpx.MockTransport(lambda r: received.append(r) or httpx.Response(204))
        async with httpx.AsyncClient(transport=transport) as http:
            await WebhookSender(db, http, clock=lambda: 1000.0).deliver_due()
        await db.dispose()

    asyncio.run(send())
    told = next(r for r in received if json.loads(r.content)["type"] == "CallTransferred")
    body = json.loads(told.content)
    assert body["instructions"] == [{"type": "transfer", "number": "+15559870000"}]
    assert body["data"]["kind"] == "external"
    mac = hmac.new(SECRET.encode(), b"1000." + told.content, hashlib.sha256).hexdigest()
    assert told.headers["x-callcenter-signature"] == f"t=1000,v1={mac}"


def test_next_before_routing_has_the_call_and_while_its_word_is_on_the_way(
    client, queues, bearer, menu_flow, deliver, database_url, assert_valid_twiml
):
    queued_call(client, bearer, menu_flow, "CA3", assert_valid_twiml)
    early = client.get("/v1/calls/CA3/next", headers=bearer())
    assert early.status_code == 409 and early.json()["reason"] == "not_queued"
    assert client.get("/v1/calls/nope/next", headers=bearer()).status_code == 404
    deliver(database_url, "acme", *routing("CA3")[:2])  # connected, routing's end not yet here
    wait = client.post(
        "/v1/twilio/next", data={"CallSid": "CA3", "To": NUMBER, "QueueResult": "bridged"}
    )
    root = assert_valid_twiml(wait.text)
    assert [verb.tag for verb in root] == ["Pause", "Redirect"]
    assert root[1].text == "/v1/twilio/next?poll=1"
    last = client.post("/v1/twilio/next?poll=10", data={"CallSid": "CA3", "To": NUMBER})
    assert [verb.tag for verb in assert_valid_twiml(last.text)] == ["Hangup"]
    gone = client.post(
        "/v1/twilio/next", data={"CallSid": "CA3", "To": NUMBER, "QueueResult": "hangup"}
    )
    assert list(assert_valid_twiml(gone.text)) == []
