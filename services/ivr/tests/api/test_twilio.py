"""A real Twilio number pointed at the IVR: form webhooks in, valid TwiML out, signed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

PUBLISHED = {  # Twilio's own example of a signed request
    "url": "https://mycompany.com/myapp.php?foo=1&bar=2",
    "params": {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    },
    "token": "12345",
    "signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
}


def setup_number(client, bearer, menu_flow, token=None):
    assert client.put("/v1/flows/main", json=menu_flow(), headers=bearer()).status_code == 201
    body = {"flow_id": "main", "version": 1}
    assert client.put("/v1/numbers/+18005551212", json=body, headers=bearer()).status_code == 200
    if token:
        settings = {"twilio_auth_token": token}
        assert client.put("/v1/telephony", json=settings, headers=bearer()).status_code == 200


def test_our_verifier_accepts_twilios_published_example_and_nothing_else():
    validator = RequestValidator(PUBLISHED["token"])
    assert validator.validate(PUBLISHED["url"], PUBLISHED["params"], PUBLISHED["signature"])
    tampered = {**PUBLISHED["params"], "Digits": "9999"}
    assert not validator.validate(PUBLISHED["url"], tampered, PUBLISHED["signature"])


def test_a_call_through_twilio_webhooks(client, queues, bearer, menu_flow, assert_valid_twiml):
    setup_number(client, bearer, menu_flow)
    call = {"CallSid": "CA1", "From": "+12349013030", "To": "+18005551212"}
    voice = client.post("/v1/twilio/voice", data=call)
    assert voice.status_code == 200, voice.text
    assert voice.headers["content-type"].startswith("application/xml")
    root = assert_valid_twiml(voice.text)

    expected = VoiceResponse()
    expected.say("Hello +12349013030.", language="en-US")
    gather = expected.gather(
        input="dtmf",
        action="/v1/twilio/gather?step=2",
        method="POST",
        timeout=5,
        finish_on_key="",
        action_on_empty_result=True,
        num_digits=1,
    )
    gather.say("Sales 1, account 2, goodbye 3.", language="en-US")
    assert ET.tostring(root) == ET.tostring(ET.fromstring(str(expected)))

    silence = client.post("/v1/twilio/gather", data={"CallSid": "CA1", "To": "+18005551212"})
    assert [verb.tag for verb in assert_valid_twiml(silence.text)] == ["Say", "Gather"]
    silence = client.post("/v1/twilio/gather", data={"CallSid": "CA1", "To": "+18005551212"})
    record = assert_valid_twiml(silence.text)
    assert [verb.tag for verb in record] == ["Say", "Say", "Record"]  # failed twice: voicemail
    assert record[-1].attrib["action"] == "/v1/twilio/recording"

    done = client.post(
        "/v1/twilio/recording",
        data={
            "CallSid": "CA1",
            "To": "+18005551212",
            "RecordingUrl": "https://api.twilio.com/rec/RE1",
            "RecordingDuration": "14",
        },
    )
    assert [verb.tag for verb in assert_valid_twiml(done.text)] == ["Hangup"]
    status = {"CallSid": "CA1", "To": "+18005551212", "CallStatus": "completed"}
    assert client.post("/v1/twilio/status", data=status).status_code == 200  # already ended: fine
    view = client.get("/v1/calls/CA1", headers=bearer()).json()
    assert view["outcome"] == "voicemail" and view["status"] == "ended"


def test_enqueue_and_hangup_in_queue_through_twilio(
    client, queues, bearer, menu_flow, assert_valid_twiml
):
    setup_number(client, bearer, menu_flow)
    client.post(
        "/v1/twilio/voice", data={"CallSid": "CA2", "From": "+15557654321", "To": "+18005551212"}
    )
    queued = client.post(
        "/v1/twilio/gather", data={"CallSid": "CA2", "To": "+18005551212", "Digits": "1"}
    )
    root = assert_valid_twiml(queued.text)
    assert root[-1].tag == "Enqueue" and root[-1].text == "sales"
    assert root[-1].attrib == {
        "action": "/v1/twilio/next",
        "method": "POST",
        "waitUrl": "/v1/twilio/wait",
        "waitUrlMethod": "POST",
    }
    status = {"CallSid": "CA2", "To": "+18005551212", "CallStatus": "completed"}
    client.post("/v1/twilio/status", data=status)
    view = client.get("/v1/calls/CA2", headers=bearer()).json()
    assert (view["outcome"], view["hung_up_by"]) == ("queued", "caller")


def test_signed_webhooks_are_checked_when_the_tenant_has_a_token(client, queues, bearer, menu_flow):
    setup_number(client, bearer, menu_flow, token="12345")
    params = {"CallSid": "CA3", "From": "+12349013030", "To": "+18005551212"}
    url = "http://testserver/v1/twilio/voice"
    signature = RequestValidator("12345").compute_signature(url, params)

    unsigned = client.post("/v1/twilio/voice", data=params)
    assert unsigned.status_code == 403
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    forged = client.post(
        "/v1/twilio/voice",
        data={**params, "From": "+1666"},
        headers={"X-Twilio-Signature": signature},
    )
    assert forged.status_code == 403
    signed = client.post("/v1/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
    assert signed.status_code == 200
    assert client.get("/v1/calls/CA3", headers=bearer()).status_code == 200


def test_malformed_twilio_requests_are_problems(client, queues, bearer, menu_flow):
    setup_number(client, bearer, menu_flow)
    missing = client.post("/v1/twilio/voice", data={"From": "+15557654321", "To": "+18005551212"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [{"field": "body.CallSid", "reason": "required"}]
    unknown = client.post(
        "/v1/twilio/voice", data={"CallSid": "X", "From": "+15557654321", "To": "+1999"}
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.To"
    stray = client.post("/v1/twilio/gather", data={"CallSid": "nope", "To": "+18005551212"})
    assert stray.status_code == 404
