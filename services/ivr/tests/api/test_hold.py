"""A caller waiting in a queue hears their position and wait, and may take a callback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from twilio.twiml.voice_response import VoiceResponse

from callcenter.events.catalogue.routing import CallAnswered, CallQueued

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBER = "+15551234"
MUSIC = "https://example.com/hold.mp3"


@pytest.fixture
def line(client, queues, bearer, menu_flow):
    flow = menu_flow()
    flow["nodes"]["sales"]["hold_music"] = MUSIC
    flow["nodes"]["sales"]["callback"] = {"min_wait": 120}
    assert client.put("/v1/flows/main", json=flow, headers=bearer()).status_code == 201
    body = {"flow_id": "main", "version": 1}
    assert client.put(f"/v1/numbers/{NUMBER}", json=body, headers=bearer()).status_code == 200


def queued(client, bearer, call_id):
    new = {"from": "+33612345678", "to": NUMBER, "call_id": call_id}
    assert client.post("/v1/calls", json=new, headers=bearer()).status_code == 201
    chosen = client.post(f"/v1/calls/{call_id}/input", json={"digits": "1"}, headers=bearer())
    assert chosen.json()["outcome"] == "queued"


def routing_queued(call_id, position, ewt=None, queue="sales"):
    return CallQueued(call_id=call_id, queue_id=queue, position=position, ewt=ewt, at=AT)


def answered(call_id):
    return CallAnswered(call_id=call_id, agent_id="a1", queue_id="sales", wait=1, ring=1, at=AT)


def assert_valid_twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def test_the_position_follows_the_calls_ahead_and_the_wait_is_told(
    client, line, bearer, deliver, database_url
):
    queued(client, bearer, "c1")
    deliver(
        database_url,
        "acme",
        routing_queued("x1", 1),
        routing_queued("x2", 2),
        routing_queued("c1", 3, ewt=300),
        routing_queued("other-queue", 1, queue="general"),
    )
    hold = client.get("/v1/calls/c1/hold", headers=bearer()).json()
    assert (hold["queue_id"], hold["position"]) == ("sales", 3)
    assert 295 < hold["ewt"] <= 300 and hold["callback_offered"]
    assert hold["instructions"] == [
        {"type": "say", "text": "You are number 3 in line.", "language": "en-US", "voice": None},
        {
            "type": "say",
            "text": "Your expected wait is about 5 minutes.",
            "language": "en-US",
            "voice": None,
        },
        {
            "type": "gather",
            "min_digits": 1,
            "max_digits": 1,
            "finish_key": "",
            "timeout": 5.0,
            "prompts": [
                {
                    "type": "say",
                    "text": "To be called back instead of waiting, press 1.",
                    "language": "en-US",
                    "voice": None,
                }
            ],
        },
        {"type": "play", "url": MUSIC},
    ]

    deliver(database_url, "acme", answered("x1"))  # one ahead is answered: move up
    assert client.get("/v1/calls/c1/hold", headers=bearer()).json()["position"] == 2
    deliver(database_url, "acme", routing_queued("vip", 1))  # a priority call goes ahead
    assert client.get("/v1/calls/c1/hold", headers=bearer()).json()["position"] == 3


def test_twilio_wait_url_answers_the_reference_twiml_and_the_callback_is_taken(
    client, line, bearer, deliver, database_url
):
    queued(client, bearer, "CA5")
    deliver(database_url, "acme", routing_queued("CA5", 2, ewt=400))
    call = {"CallSid": "CA5", "To": NUMBER}

    wait = client.post("/v1/twilio/wait", data={**call, "QueuePosition": "7", "QueueTime": "4"})
    assert wait.status_code == 200, wait.text
    root = assert_valid_twiml(wait.text)
    expected = VoiceResponse()
    expected.say("You are number 2 in line.", language="en-US")
    expected.say("Your expected wait is about 7 minutes.", language="en-US")
    gather = expected.gather(
        input="dtmf",
        action="/v1/twilio/gather?step=4",
        method="POST",
        timeout=5,
        finish_on_key="",
        num_digits=1,
    )
    gather.say("To be called back instead of waiting, press 1.", language="en-US")
    expected.play(MUSIC)
    assert ET.tostring(root) == ET.tostring(ET.fromstring(str(expected)))

    taken = client.post("/v1/twilio/gather?step=4", data={**call, "Digits": "1"})
    assert [verb.tag for verb in assert_valid_twiml(taken.text)] == ["Say", "Hangup"]
    again = client.post("/v1/twilio/gather?step=4", data={**call, "Digits": "1"})
    assert again.text == taken.text  # Twilio's retry: the same answer, one callback
    page = client.get("/v1/events?stream_id=ivr.call:acme:CA5&limit=500", headers=bearer())
    accepted = [e for e in page.json()["items"] if e["type"] == "CallbackOfferAccepted"]
    assert [e["data"]["number"] for e in accepted] == ["+33612345678"]
    assert [e["data"]["queue_id"] for e in accepted] == ["sales"]
    # The caller keeps their place and hangs up, as routing expects of a callback.
    assert page.json()["items"][-1]["type"] == "CallHungUp"
    assert page.json()["items"][-1]["data"]["by"] == "caller"
    status = {**call, "CallStatus": "completed"}
    assert client.post("/v1/twilio/status", data=status).status_code == 200


def test_without_routing_s_word_twilio_s_position_is_told_and_no_early_offer(client, line, bearer):
    queued(client, bearer, "CA6")
    call = {"CallSid": "CA6", "To": NUMBER, "QueuePosition": "4"}
    root = assert_valid_twiml(client.post("/v1/twilio/wait", data=call).text)
    assert [verb.tag for verb in root] == ["Say", "Play"]  # min_wait 120 s: no offer yet
    assert root[0].text == "You are number 4 in line."


def test_only_the_callback_digit_counts_in_the_queue_and_calls_not_queued_have_no_hold(
    client, line, bearer
):
    queued(client, bearer, "c7")
    other = client.post("/v1/calls/c7/input", json={"digits": "5"}, headers=bearer())
    assert other.status_code == 409 and other.json()["reason"] == "not_expected"
    new = {"from": "+331", "to": NUMBER, "call_id": "c8"}
    client.post("/v1/calls", json=new, headers=bearer())
    in_ivr = client.get("/v1/calls/c8/hold", headers=bearer())
    assert in_ivr.status_code == 409 and in_ivr.json()["reason"] == "not_queued"
    assert client.get("/v1/calls/nope/hold", headers=bearer()).status_code == 404
    taken = client.post("/v1/calls/c7/input", json={"digits": "1"}, headers=bearer())
    assert [item["type"] for item in taken.json()["instructions"]] == ["say", "hangup"]
    twice = client.post("/v1/calls/c7/input", json={"digits": "1"}, headers=bearer())
    assert twice.status_code == 409
