"""Recordings (issue 10): per-tenant settings, the consent prompt at call start, started when
an agent answers, stopped with the provider's file (Twilio's signed RecordingStatusCallback
or JSON), shown to supervisors and admins with an audit trail, purged after retention."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlalchemy import select
from twilio.request_validator import RequestValidator

from callcenter.events import store
from callcenter.events.catalogue.routing import CallAnswered, CallQueued
from callcenter.events.db import Database
from callcenter.events.kit.auth import Role
from callcenter.ivr.domain.recording import recording_id
from callcenter.ivr.recordings import purge_due
from callcenter.ivr.store.tables import webhooks

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBER = "+18005551212"
TOKEN = "twilio-auth-token"


def events(database_url: str, stream: str) -> list:
    async def read() -> list:
        db = Database(database_url)
        async with db.read() as conn:
            found = await store.read_stream(conn, stream)
        await db.dispose()
        return [envelope.data for envelope in found]

    return asyncio.run(read())


def test_a_recorded_call_from_consent_to_purge(
    client, queues, bearer, menu_flow, deliver, database_url, assert_valid_twiml
):
    assert client.get("/v1/recording-settings", headers=bearer()).json()["enabled"] is False
    settings = {"enabled": True, "consent_prompt": "This call is recorded.", "retention_days": 30}
    assert client.put("/v1/recording-settings", json=settings, headers=bearer()).status_code == 200
    supervisor = bearer("acme", Role.SUPERVISOR)
    assert (
        client.put("/v1/recording-settings", json=settings, headers=supervisor).status_code == 403
    )
    bad = client.put(
        "/v1/recording-settings", json={**settings, "retention_days": 0}, headers=bearer()
    )
    assert bad.status_code == 422 and "retention_days" in bad.text
    client.put(
        "/v1/telephony",
        json={"twilio_auth_token": TOKEN, "status_callback_url": "https://pbx.example/cb"},
        headers=bearer(),
    )
    client.put("/v1/flows/main", json=menu_flow(), headers=bearer())
    client.put(f"/v1/numbers/{NUMBER}", json={"flow_id": "main", "version": 1}, headers=bearer())

    started = client.post(
        "/v1/calls", json={"from": "+15557654321", "to": NUMBER, "call_id": "r1"}, headers=bearer()
    )
    assert started.json()["instructions"][0] == {
        "type": "say",
        "text": "This call is recorded.",
        "language": "en-US",
        "voice": None,
    }
    params = {"CallSid": "CA1", "From": "+15557654321", "To": NUMBER}
    signature = RequestValidator(TOKEN).compute_signature(
        "http://testserver/v1/twilio/voice", params
    )
    voice = client.post("/v1/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
    assert assert_valid_twiml(voice.text)[0].text == "This call is recorded."

    client.post("/v1/calls/r1/input", json={"digits": "1"}, headers=bearer())
    answered = CallAnswered(call_id="r1", agent_id="a1", queue_id="sales", wait=3, ring=1, at=AT)
    queued = CallQueued(call_id="r1", queue_id="sales", position=1, at=AT)
    deliver(database_url, "acme", queued, answered, answered, clock=lambda: 1000.0)  # told twice
    rid = recording_id("acme", "r1", "a1")
    assert [type(e).__name__ for e in events(database_url, f"ivr.recording:acme:{rid}")] == [
        "RecordingStarted"
    ]

    async def answered_callback() -> dict:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (await conn.execute(select(webhooks.c.body))).scalars().all()
        await db.dispose()
        return next(json.loads(b) for b in rows if json.loads(b)["type"] == "CallAnswered")

    told = asyncio.run(answered_callback())["recording"]
    assert told["recording_id"] == rid and told["report_to"] == f"/v1/recordings/{rid}/stopped"

    # Twilio's RecordingStatusCallback, signed, retried: stopped once.
    path = told["twilio_status_callback"]
    form = {
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "RecordingDuration": "42",
        "RecordingStatus": "completed",
    }
    assert client.post(path, data=form).status_code == 403
    signature = RequestValidator(TOKEN).compute_signature(f"http://testserver{path}", form)
    for _ in range(2):
        done = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert done.status_code == 200, done.text
    stopped = events(database_url, f"ivr.recording:acme:{rid}")[1:]
    assert [(e.uri, e.duration) for e in stopped] == [("https://api.twilio.com/rec/RE1", 42.0)]
    assert (stopped[0].retain_until - stopped[0].at).days == 30

    # Supervisors and admins see it; agents do not; each look is audited, for admins.
    assert (
        client.get(f"/v1/recordings/{rid}", headers=bearer("acme", Role.AGENT)).status_code == 403
    )
    seen = client.get(f"/v1/recordings/{rid}", headers=supervisor)
    assert seen.status_code == 200 and seen.json()["uri"] == "https://api.twilio.com/rec/RE1"
    assert client.get(f"/v1/recordings/{rid}", headers=bearer("other")).status_code == 404
    client.get(f"/v1/recordings/{rid}", headers=bearer())
    assert client.get(f"/v1/recordings/{rid}/audit", headers=supervisor).status_code == 403
    trail = client.get(f"/v1/recordings/{rid}/audit", headers=bearer()).json()
    assert [(entry["subject"], entry["roles"], entry["action"]) for entry in trail] == [
        ("ann", "supervisor", "viewed"),
        ("ann", "admin", "viewed"),
    ]

    async def purge(at: float) -> int:
        db = Database(database_url)
        purged = await purge_due(db, at)
        await db.dispose()
        return purged

    until = stopped[0].retain_until.timestamp()
    assert asyncio.run(purge(until - 1)) == 0
    assert asyncio.run(purge(until + 1)) == 1
    gone = client.get(f"/v1/recordings/{rid}", headers=bearer()).json()
    assert (gone["status"], gone["uri"]) == ("purged", None)
    assert (
        client.get(f"/v1/recordings/{rid}/audit", headers=bearer()).json()[-2]["action"] == "purged"
    )


def test_no_recording_when_disabled_and_json_stop_of_an_unknown_one(
    client, queues, bearer, menu_flow, deliver, database_url
):
    client.put("/v1/flows/main", json=menu_flow(), headers=bearer())
    client.put(f"/v1/numbers/{NUMBER}", json={"flow_id": "main", "version": 1}, headers=bearer())
    started = client.post(
        "/v1/calls", json={"from": "+15557654321", "to": NUMBER, "call_id": "n1"}, headers=bearer()
    )
    assert started.json()["instructions"][0]["text"] == "Hello +15557654321."
    deliver(
        database_url,
        "acme",
        CallAnswered(call_id="n1", agent_id="a1", queue_id="sales", wait=3, ring=1, at=AT),
    )
    assert events(database_url, f"ivr.recording:acme:{recording_id('acme', 'n1', 'a1')}") == []
    body = {"uri": "https://pbx.example/rec/1", "duration": 3}
    assert (
        client.post("/v1/recordings/nope/stopped", json=body, headers=bearer()).status_code == 404
    )
    bad = client.post(
        "/v1/recordings/nope/stopped", json={"uri": "ftp://x", "duration": 3}, headers=bearer()
    )
    assert bad.status_code == 422 and "uri" in bad.text


def test_a_whole_call_recording_pauses_while_the_caller_keys_sensitive_digits(
    client, queues, bearer, menu_flow, database_url
):
    settings = {"enabled": True, "scope": "call", "retention_days": 7}
    assert (
        client.put("/v1/recording-settings", json=settings, headers=bearer()).json()["scope"]
        == "call"
    )
    client.put(
        "/v1/telephony", json={"status_callback_url": "https://pbx.example/cb"}, headers=bearer()
    )
    flow = menu_flow()
    flow["nodes"]["account"]["sensitive"] = True
    assert client.put("/v1/flows/main", json=flow, headers=bearer()).status_code == 201
    client.put(f"/v1/numbers/{NUMBER}", json={"flow_id": "main", "version": 1}, headers=bearer())
    client.post(
        "/v1/calls", json={"from": "+15557654321", "to": NUMBER, "call_id": "p1"}, headers=bearer()
    )
    rid = recording_id("acme", "p1", "")
    stream = f"ivr.recording:acme:{rid}"
    assert [type(e).__name__ for e in events(database_url, stream)] == ["RecordingStarted"]

    client.post("/v1/calls/p1/input", json={"digits": "2"}, headers=bearer())  # the account number
    assert [type(e).__name__ for e in events(database_url, stream)][-1] == "RecordingPaused"
    client.post(
        "/v1/calls/p1/input", json={"digits": "12"}, headers=bearer()
    )  # too short: asked again
    assert [type(e).__name__ for e in events(database_url, stream)][-1] == "RecordingPaused"
    client.post("/v1/calls/p1/input", json={"digits": "123456"}, headers=bearer())  # on to the dip
    assert [type(e).__name__ for e in events(database_url, stream)] == [
        "RecordingStarted",
        "RecordingPaused",
        "RecordingResumed",
    ]
    seen = client.get(f"/v1/recordings/{rid}", headers=bearer()).json()
    assert (seen["call_id"], seen["status"]) == ("p1", "recording")

    async def told() -> list[dict]:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (
                (await conn.execute(select(webhooks.c.body).order_by(webhooks.c.id)))
                .scalars()
                .all()
            )
        await db.dispose()
        return [
            json.loads(body)["recording"]
            for body in rows
            if "Recording" in json.loads(body)["type"]
        ]

    assert [(item["recording_id"], item["action"]) for item in asyncio.run(told())] == [
        (rid, "pause"),
        (rid, "resume"),
    ]
