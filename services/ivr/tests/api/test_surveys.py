"""Post-call surveys (issue 10): per-queue policies; a sampled call ended by the agent is
offered the survey, asked on the line (JSON and Twilio) or called back by an outbound leg."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from sqlalchemy import select

from callcenter.events import store
from callcenter.events.catalogue.routing import CallAnswered, CallEnded, CallQueued
from callcenter.events.db import Database
from callcenter.ivr.store.tables import webhooks
from callcenter.ivr.surveys import Surveys

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBER = "+18005551212"
QUESTIONS = [{"id": "resolved", "prompt": "Solved? 1 to 5."}, {"id": "polite", "prompt": "Polite?"}]


def survey_events(database_url: str, call_id: str) -> list:
    async def read() -> list:
        db = Database(database_url)
        async with db.read() as conn:
            found = await store.read_stream(conn, f"ivr.survey:acme:{call_id}")
        await db.dispose()
        return [envelope.data for envelope in found]

    return asyncio.run(read())


def queued_call(client, bearer, menu_flow, call_id: str) -> None:
    if client.get("/v1/flows/main", headers=bearer()).status_code == 404:
        client.put("/v1/flows/main", json=menu_flow(), headers=bearer())
        client.put(
            f"/v1/numbers/{NUMBER}", json={"flow_id": "main", "version": 1}, headers=bearer()
        )
    client.post(
        "/v1/calls",
        json={"from": "+15557654321", "to": NUMBER, "call_id": call_id},
        headers=bearer(),
    )
    assert (
        client.post(f"/v1/calls/{call_id}/input", json={"digits": "1"}, headers=bearer()).json()[
            "outcome"
        ]
        == "queued"
    )


def handled(call_id: str, **end) -> tuple:
    values = {"ended_by": "agent", "transferred": False, **end}
    return (
        CallQueued(call_id=call_id, queue_id="sales", position=1, at=AT),
        CallAnswered(call_id=call_id, agent_id="a1", queue_id="sales", wait=5, ring=1, at=AT),
        CallEnded(call_id=call_id, agent_id="a1", queue_id="sales", talk=60, at=AT, **values),
    )


def test_policies_are_kept_per_queue_and_checked(client, bearer):
    policy = {"sample_rate": 0.5, "questions": QUESTIONS, "channel": "outbound", "delay": 600}
    put = client.put("/v1/survey-policies/sales", json=policy, headers=bearer())
    assert put.status_code == 200 and put.json()["queue_id"] == "sales"
    got = client.get("/v1/survey-policies/sales", headers=bearer()).json()
    assert (got["sample_rate"], got["channel"], got["delay"], got["language"]) == (
        0.5,
        "outbound",
        600,
        "en-US",
    )
    assert client.get("/v1/survey-policies/general", headers=bearer()).status_code == 404
    bad = client.put(
        "/v1/survey-policies/sales", json={**policy, "sample_rate": 1.5}, headers=bearer()
    )
    assert bad.status_code == 422 and "sample_rate" in bad.text
    twice = {**policy, "questions": QUESTIONS + QUESTIONS[:1]}
    assert client.put("/v1/survey-policies/sales", json=twice, headers=bearer()).status_code == 422
    bad_channel = client.put(
        "/v1/survey-policies/sales", json={**policy, "channel": "sms"}, headers=bearer()
    )
    assert bad_channel.status_code == 422 and "channel" in bad_channel.text


def test_an_ivr_survey_after_the_agent_json_and_twilio(
    client, queues, bearer, menu_flow, deliver, database_url, assert_valid_twiml
):
    policy = {"sample_rate": 1, "questions": QUESTIONS, "channel": "ivr"}
    client.put("/v1/survey-policies/sales", json=policy, headers=bearer())
    client.put(
        "/v1/telephony", json={"status_callback_url": "https://pbx.example/cb"}, headers=bearer()
    )
    queued_call(client, bearer, menu_flow, "s1")
    deliver(database_url, "acme", *handled("s1"))

    offered = survey_events(database_url, "s1")
    assert [(type(e).__name__, e.channel, e.agent_id) for e in offered] == [
        ("SurveyOffered", "ivr", "a1")
    ]
    after = client.get("/v1/calls/s1/next", headers=bearer()).json()
    assert after["instructions"][0]["type"] == "gather"  # not the hang-up: the questions

    async def ended_callback() -> dict:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (await conn.execute(select(webhooks.c.body))).scalars().all()
        await db.dispose()
        return next(json.loads(b) for b in rows if json.loads(b)["type"] == "CallEnded")

    assert (
        asyncio.run(ended_callback())["instructions"][0]["prompts"][0]["text"] == "Solved? 1 to 5."
    )

    wrong = client.post("/v1/calls/s1/input", json={"digits": "9"}, headers=bearer()).json()
    assert (wrong["status"], wrong["awaiting"]) == ("survey", "input")
    assert wrong["instructions"][0]["prompts"][0]["text"] == "Please press a key from 1 to 5."
    keyed = {**bearer(), "Idempotency-Key": "answer-1"}
    good = client.post("/v1/calls/s1/input", json={"digits": "4"}, headers=keyed).json()
    assert good["instructions"][0]["prompts"][0]["text"] == "Polite?"
    retried = client.post("/v1/calls/s1/input", json={"digits": "4"}, headers=keyed)
    assert retried.json() == good  # the first answer again; the next question not answered
    reused = client.post("/v1/calls/s1/input", json={"digits": "2"}, headers=keyed)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.text
    last = client.post("/v1/calls/s1/input", json={"digits": "5"}, headers=bearer()).json()
    assert [item["type"] for item in last["instructions"]] == ["say", "hangup"]
    assert last["awaiting"] is None
    answered = survey_events(database_url, "s1")[1:]
    assert [(e.question, e.score, e.agent_id, e.queue_id) for e in answered] == [
        ("resolved", 4, "a1", "sales"),
        ("polite", 5, "a1", "sales"),
    ]
    # The survey over, keys go back to the call (which has left the IVR).
    assert (
        client.post("/v1/calls/s1/input", json={"digits": "5"}, headers=bearer()).status_code == 409
    )
    # A retried answer still gets its first answer; its key still refuses another request.
    assert client.post("/v1/calls/s1/input", json={"digits": "4"}, headers=keyed).json() == good
    reused = client.post("/v1/calls/s1/input", json={"digits": "3"}, headers=keyed)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.text

    # Twilio: the bridge ended, the caller is asked; a retried answer counts once.
    client.post("/v1/twilio/voice", data={"CallSid": "CA9", "From": "+15557654321", "To": NUMBER})
    client.post("/v1/twilio/gather", data={"CallSid": "CA9", "To": NUMBER, "Digits": "1"})
    deliver(database_url, "acme", *handled("CA9"))
    asked = client.post(
        "/v1/twilio/next", data={"CallSid": "CA9", "To": NUMBER, "QueueResult": "bridged"}
    )
    gather = assert_valid_twiml(asked.text)[0]
    assert gather.tag == "Gather" and gather.attrib["action"] == "/v1/twilio/gather?survey=0.1"
    for _ in range(2):
        second = client.post(
            "/v1/twilio/gather?survey=0.1", data={"CallSid": "CA9", "To": NUMBER, "Digits": "3"}
        )
        root = assert_valid_twiml(second.text)
        assert root[0].attrib["action"] == "/v1/twilio/gather?survey=1.1"
    assert [e.score for e in survey_events(database_url, "CA9")[1:]] == [3]


def test_no_survey_after_a_transfer_a_caller_hang_up_or_outside_the_sample(
    client, queues, bearer, menu_flow, deliver, database_url
):
    client.put(
        "/v1/survey-policies/sales",
        json={"sample_rate": 1, "questions": QUESTIONS, "channel": "ivr"},
        headers=bearer(),
    )
    for call_id, end in (("t1", {"transferred": True}), ("t2", {"ended_by": "caller"})):
        queued_call(client, bearer, menu_flow, call_id)
        deliver(database_url, "acme", *handled(call_id, **end))
        assert survey_events(database_url, call_id) == []
    client.put(
        "/v1/survey-policies/sales",
        json={"sample_rate": 0, "questions": QUESTIONS, "channel": "ivr"},
        headers=bearer(),
    )
    queued_call(client, bearer, menu_flow, "t3")
    deliver(database_url, "acme", *handled("t3"))
    assert survey_events(database_url, "t3") == []
    assert client.get("/v1/calls/t3/next", headers=bearer()).json()["instructions"] == [
        {"type": "hangup"}
    ]


def test_an_outbound_survey_calls_back_after_the_delay_and_asks(
    client, queues, bearer, menu_flow, deliver, database_url
):
    policy = {"sample_rate": 1, "questions": QUESTIONS[:1], "channel": "outbound", "delay": 600}
    client.put("/v1/survey-policies/sales", json=policy, headers=bearer())
    client.put(
        "/v1/telephony", json={"status_callback_url": "https://pbx.example/cb"}, headers=bearer()
    )
    queued_call(client, bearer, menu_flow, "o1")
    deliver(database_url, "acme", *handled("o1"), clock=lambda: 1000.0)
    assert [e.channel for e in survey_events(database_url, "o1")] == ["outbound"]
    assert client.get("/v1/calls/o1/next", headers=bearer()).json()["instructions"] == [
        {"type": "hangup"}
    ]

    async def dial(at: float) -> int:
        db = Database(database_url)
        tried = await Surveys(db, committed=lambda: None, clock=lambda: at).dial_due()
        await db.dispose()
        return tried

    assert asyncio.run(dial(1599.0)) == 0  # not yet
    assert asyncio.run(dial(1600.0)) == 1
    assert asyncio.run(dial(1601.0)) == 0  # once

    async def dials() -> list[dict]:
        db = Database(database_url)
        async with db.read() as conn:
            rows = (await conn.execute(select(webhooks.c.body))).scalars().all()
        await db.dispose()
        return [json.loads(b) for b in rows if json.loads(b)["type"] == "OutboundCallRequested"]

    (order,) = asyncio.run(dials())
    leg = order["call_id"]
    assert leg == "o1.sv" and order["instruction"]["dial"]["number"] == "+15557654321"
    human = {"status": "in-progress", "answered_by": "human"}
    answered = client.post(f"/v1/calls/{leg}/outbound-status", json=human, headers=bearer()).json()
    assert answered["instructions"][0]["prompts"][0]["text"] == "Solved? 1 to 5."
    done = client.post(f"/v1/calls/{leg}/input", json={"digits": "2"}, headers=bearer()).json()
    assert [item["type"] for item in done["instructions"]] == ["say", "hangup"]
    answers = survey_events(database_url, "o1")[1:]
    assert [(e.call_id, e.question, e.score, e.agent_id) for e in answers] == [
        ("o1", "resolved", 2, "a1")
    ]
