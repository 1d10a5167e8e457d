"""Outbound legs (issue 10): routing's OutboundCallRequested is placed through the tenant's
provider (Twilio's create-call, or the JSON status callback), the provider's reports are
verified and become exactly one OutboundCallStatus per leg, answered legs are connected."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from callcenter.events import store
from callcenter.events.catalogue.routing import ContactAbandoned, OutboundCallRequested
from callcenter.events.db import Database
from callcenter.ivr.outbound import Outbound
from callcenter.ivr.store.tables import outbound_legs, webhooks

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SID = "AC" + "a" * 32
TOKEN = "twilio-auth-token"


def requested(call_id: str, **fields) -> OutboundCallRequested:
    values = {"number": "+15550001111", "queue_id": "sales", "campaign_id": "k1"}
    values.update(fields)
    return OutboundCallRequested(call_id=call_id, contact_id=f"c-{call_id}", at=AT, **values)


def leg_events(database_url: str, call_id: str) -> list:
    async def read() -> list:
        db = Database(database_url)
        async with db.read() as conn:
            found = await store.read_stream(conn, f"ivr.leg:acme:{call_id}")
        await db.dispose()
        return [envelope.data for envelope in found]

    return asyncio.run(read())


def signed(client, path: str, params: dict[str, str], token: str = TOKEN) -> httpx.Response:
    url = f"http://testserver{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def test_a_twilio_leg_is_created_reported_once_and_connected(
    client, bearer, deliver, database_url, ivr_database, assert_valid_twiml
):
    settings = {
        "twilio_auth_token": TOKEN,
        "twilio_account_sid": SID,
        "outbound_caller_id": "+15550009999",
    }
    put = client.put("/v1/telephony", json=settings, headers=bearer())
    assert put.status_code == 200 and put.json()["outbound_provider"] == "twilio"
    deliver(database_url, "acme", requested("o1", agent_id="a7"), requested("o2"))

    sent: list[httpx.Request] = []

    def twilio(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) == 1:
            return httpx.Response(503)  # retried after its backoff
        return httpx.Response(201, json={"sid": f"CA{len(sent):032d}", "status": "queued"})

    clock = {"t": 1000.0}

    async def place() -> list[int]:
        db = ivr_database()
        async with httpx.AsyncClient(transport=httpx.MockTransport(twilio)) as http:
            dialer = Outbound(
                db,
                http,
                committed=lambda: None,
                twilio_api_url="https://twilio.mock",
                public_url="https://ivr.example",
                clock=lambda: clock["t"],
            )
            tried = [await dialer.place_due()]
            clock["t"] += 5
            tried.append(await dialer.place_due())
            tried.append(await dialer.place_due())
        async with db.read() as conn:
            rows = (
                await conn.execute(select(outbound_legs).order_by(outbound_legs.c.call_id))
            ).all()
        await db.dispose()
        return tried, [(row.call_id, row.status, row.provider_sid) for row in rows]

    tried, rows = asyncio.run(place())
    assert tried == [2, 1, 0]
    assert [status for _, status, _ in rows] == ["placed", "placed"]
    request = sent[-1]
    assert str(request.url) == f"https://twilio.mock/2010-04-01/Accounts/{SID}/Calls.json"
    user, _, password = (
        base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    )
    assert (user, password) == (SID, TOKEN)
    form = parse_qsl(request.content.decode())
    call_id = dict(form)["Url"].rpartition("call_id=")[2]
    assert dict(form)["To"] == "+15550001111" and dict(form)["From"] == "+15550009999"
    assert dict(form)["MachineDetection"] == "Enable"
    assert (
        dict(form)["Url"]
        == f"https://ivr.example/v1/twilio/outbound/answer?tenant=acme&call_id={call_id}"
    )
    assert dict(form)["StatusCallback"].startswith("https://ivr.example/v1/twilio/outbound/status?")
    assert [value for key, value in form if key == "StatusCallbackEvent"] == [
        "answered",
        "completed",
    ]

    # The callee answers: a human; o1 had an agent reserved, o2 waits in the queue.
    query = "?tenant=acme&call_id=o1"
    human = {"CallSid": "CA1", "CallStatus": "in-progress", "AnsweredBy": "human"}
    unsigned = client.post(f"/v1/twilio/outbound/answer{query}", data=human)
    assert unsigned.status_code == 403
    answer = signed(client, f"/v1/twilio/outbound/answer{query}", human)
    root = assert_valid_twiml(answer.text)
    assert root[0].tag == "Dial" and root[0][0].tag == "Client" and root[0][0].text == "a7"
    for _ in range(2):  # Twilio's status callbacks for the same leg, one retried
        status = signed(
            client, f"/v1/twilio/outbound/status{query}", {**human, "CallStatus": "in-progress"}
        )
        assert status.status_code == 200
    queued = signed(client, "/v1/twilio/outbound/answer?tenant=acme&call_id=o2", human)
    enqueue = assert_valid_twiml(queued.text)[0]
    assert (enqueue.tag, enqueue.text) == ("Enqueue", "sales")
    assert enqueue.attrib["waitUrl"] == "/v1/twilio/outbound/wait?tenant=acme&call_id=o2"

    done = {"CallSid": "CA1", "CallStatus": "completed"}
    signed(client, f"/v1/twilio/outbound/status{query}", done)
    signed(client, f"/v1/twilio/outbound/status{query}", done)
    events = leg_events(database_url, "o1")
    assert [type(event).__name__ for event in events] == ["OutboundCallStatus", "CallHungUp"]
    assert (events[0].status, events[0].campaign_id, events[0].contact_id) == (
        "answered",
        "k1",
        "c-o1",
    )

    # o2: no agent in time; routing plays the mandatory message through the wait URL.
    wait = signed(client, "/v1/twilio/outbound/wait?tenant=acme&call_id=o2", {"CallSid": "CA2"})
    assert [verb.tag for verb in assert_valid_twiml(wait.text)] == ["Pause"]
    deliver(
        database_url,
        "acme",
        ContactAbandoned(campaign_id="k1", contact_id="c-o2", call_id="o2", at=AT),
    )
    wait = signed(client, "/v1/twilio/outbound/wait?tenant=acme&call_id=o2", {"CallSid": "CA2"})
    assert [verb.tag for verb in assert_valid_twiml(wait.text)] == ["Say", "Hangup"]
    left = signed(client, "/v1/twilio/outbound/next?tenant=acme&call_id=o2", {"CallSid": "CA2"})
    assert [verb.tag for verb in assert_valid_twiml(left.text)] == ["Say", "Hangup"]


def test_busy_no_answer_machine_and_failed_each_map_and_duplicates_emit_once(
    client, bearer, deliver, database_url
):
    settings = {"status_callback_url": "https://pbx.example/cb", "abandon_message": "ACME here."}
    assert (
        client.put("/v1/telephony", json=settings, headers=bearer()).json()["outbound_provider"]
        == "json"
    )
    cases = {
        "b": ({"status": "busy"}, "busy"),
        "n": ({"status": "no-answer"}, "no_answer"),
        "m": ({"status": "in-progress", "answered_by": "machine_start"}, "machine"),
        "f": ({"status": "failed"}, "failed"),
        "h": ({"status": "in-progress", "answered_by": "human"}, "answered"),
    }
    deliver(database_url, "acme", *(requested(call_id) for call_id in cases))
    for call_id, (report, expected) in cases.items():
        for _ in range(2):
            answer = client.post(
                f"/v1/calls/{call_id}/outbound-status", json=report, headers=bearer()
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["outcome"] == expected
        events = leg_events(database_url, call_id)
        assert [(type(e).__name__, e.status) for e in events] == [("OutboundCallStatus", expected)]
    assert client.post(
        "/v1/calls/h/outbound-status", json={"status": "busy"}, headers=bearer()
    ).json()["instructions"] == [
        {"type": "enqueue", "queue": "sales", "skills": {}, "priority": 0, "hold_music": None}
    ]
    machine = client.post(
        "/v1/calls/m/outbound-status", json={"status": "completed"}, headers=bearer()
    )
    assert machine.json()["instructions"] == [{"type": "hangup"}]

    deliver(
        database_url,
        "acme",
        ContactAbandoned(campaign_id="k1", contact_id="c-h", call_id="h", at=AT),
    )
    after = client.get("/v1/calls/h/next", headers=bearer()).json()
    assert after["instructions"] == [
        {"type": "say", "text": "ACME here.", "language": "en-US", "voice": None},
        {"type": "hangup"},
    ]

    async def outbox() -> list[dict]:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (await conn.execute(select(webhooks).order_by(webhooks.c.id))).all()
        await db.dispose()
        return [json.loads(row.body) for row in rows]

    bodies = asyncio.run(outbox())
    dials = [body for body in bodies if body["type"] == "OutboundCallRequested"]
    assert len(dials) == len(cases)
    assert dials[0]["instruction"]["dial"]["number"] == "+15550001111"
    assert dials[0]["instruction"]["dial"]["report_to"] == "/v1/calls/b/outbound-status"
    abandoned = next(body for body in bodies if body["type"] == "ContactAbandoned")
    assert abandoned["instructions"][-1] == {"type": "hangup"}


def test_bad_reports_are_problems_and_a_tenant_without_a_provider_fails_the_leg(
    client, bearer, deliver, database_url
):
    deliver(database_url, "acme", requested("x"))
    assert [e.status for e in leg_events(database_url, "x")] == ["failed"]
    bad = client.post("/v1/calls/x/outbound-status", json={"status": "exploded"}, headers=bearer())
    assert bad.status_code == 422 and "status" in bad.text
    unknown = client.post(
        "/v1/calls/nope/outbound-status", json={"status": "busy"}, headers=bearer()
    )
    assert unknown.status_code == 404
    no_query = client.post(
        "/v1/twilio/outbound/status", data={"CallSid": "CA1", "CallStatus": "busy"}
    )
    assert no_query.status_code == 422 and "query.tenant" in no_query.text


def test_a_leg_the_provider_never_reports_fails_after_its_ringing_time_and_the_grace(
    client, bearer, deliver, database_url
):
    client.put(
        "/v1/telephony", json={"status_callback_url": "https://pbx.example/cb"}, headers=bearer()
    )
    deliver(database_url, "acme", requested("lost", timeout=25), clock=lambda: 1000.0)

    async def expire(at: float) -> int:
        db = Database(database_url)
        async with httpx.AsyncClient() as http:
            dialer = Outbound(
                db,
                http,
                committed=lambda: None,
                twilio_api_url="https://twilio.mock",
                public_url="https://ivr.example",
                clock=lambda: at,
                report_grace=300,
            )
            expired = await dialer.expire_due()
        await db.dispose()
        return expired

    assert asyncio.run(expire(1000 + 25 + 300 - 1)) == 0
    assert asyncio.run(expire(1000 + 25 + 300 + 1)) == 1
    assert asyncio.run(expire(1000 + 25 + 300 + 2)) == 0
    late = client.post("/v1/calls/lost/outbound-status", json={"status": "busy"}, headers=bearer())
    assert late.json()["outcome"] == "failed"
    assert [e.status for e in leg_events(database_url, "lost")] == ["failed"]
