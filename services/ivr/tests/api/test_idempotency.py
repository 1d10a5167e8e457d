"""Providers retry webhooks: a retried request gets the first answer and appends nothing."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

NUMBER = "+15551234"


@pytest.fixture
def line(client, queues, bearer, menu_flow):
    assert client.put("/v1/flows/main", json=menu_flow(), headers=bearer()).status_code == 201
    body = {"flow_id": "main", "version": 1}
    assert client.put(f"/v1/numbers/{NUMBER}", json=body, headers=bearer()).status_code == 200


def keyed(bearer, key):
    return {**bearer(), "Idempotency-Key": key}


def events_of(client, bearer, call_id):
    page = client.get(f"/v1/events?stream_id=ivr.call:acme:{call_id}&limit=500", headers=bearer())
    return [item["type"] for item in page.json()["items"]]


def test_a_retried_start_input_and_hangup_are_answered_once(client, line, bearer):
    new = {"from": "+33612345678", "to": NUMBER}  # no call_id: the IVR makes one up
    first = client.post("/v1/calls", json=new, headers=keyed(bearer, "start-1"))
    again = client.post("/v1/calls", json=new, headers=keyed(bearer, "start-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    call_id = first.json()["call_id"]
    started = events_of(client, bearer, call_id)

    path = f"/v1/calls/{call_id}/input"
    chosen = client.post(path, json={"digits": "1"}, headers=keyed(bearer, "in-1"))
    retried = client.post(path, json={"digits": "1"}, headers=keyed(bearer, "in-1"))
    assert retried.status_code == 200 and retried.json() == chosen.json()
    assert chosen.json()["outcome"] == "queued"
    hung = client.post(f"/v1/calls/{call_id}/hangup", headers=keyed(bearer, "bye"))
    assert client.post(f"/v1/calls/{call_id}/hangup", headers=keyed(bearer, "bye")).json() == (
        hung.json()
    )
    events = events_of(client, bearer, call_id)
    assert events[: len(started)] == started
    assert events.count("CallArrived") == 1
    assert events.count("IvrInputReceived") == 1
    assert events.count("CallHungUp") == 1


def test_a_key_reused_for_another_request_is_refused_and_changes_nothing(client, line, bearer):
    new = {"from": "+331", "to": NUMBER, "call_id": "c1"}
    client.post("/v1/calls", json=new, headers=keyed(bearer, "k"))
    before = events_of(client, bearer, "c1")
    reused = client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=keyed(bearer, "k"))
    assert reused.status_code == 422
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert events_of(client, bearer, "c1") == before
    bad = client.post("/v1/calls/c1/input", json={"digits": "1"}, headers=keyed(bearer, "a b"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert events_of(client, bearer, "c1") == before


def test_a_retry_of_a_request_that_went_through_a_data_dip_gets_the_whole_answer(
    client, line, bearer
):
    client.post("/v1/calls", json={"from": "+331", "to": NUMBER, "call_id": "c2"}, headers=bearer())
    client.post("/v1/calls/c2/input", json={"digits": "2"}, headers=bearer())
    body = {"digits": "1234"}  # the account number: the balance dip fails, on to sales
    first = client.post("/v1/calls/c2/input", json=body, headers=keyed(bearer, "acct"))
    again = client.post("/v1/calls/c2/input", json=body, headers=keyed(bearer, "acct"))
    assert first.json()["outcome"] == "queued"
    assert again.json() == first.json()
    assert events_of(client, bearer, "c2").count("IvrDataDipCompleted") == 1


def test_twilio_retries_of_the_voice_and_gather_webhooks_are_applied_once(client, line, bearer):
    token = "12345"
    assert client.put(
        "/v1/telephony", json={"twilio_auth_token": token}, headers=bearer()
    ).is_success
    validator = RequestValidator(token)

    def post(path, params, retry_token=None):
        url = f"http://testserver{path}"
        headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
        if retry_token:
            headers["I-Twilio-Idempotency-Token"] = retry_token
        return client.post(path, data=params, headers=headers)

    call = {"CallSid": "CA9", "From": "+12349013030", "To": NUMBER}
    voice = post("/v1/twilio/voice", call)
    assert voice.status_code == 200
    assert post("/v1/twilio/voice", call).text == voice.text  # the same CallSid: no second call
    assert events_of(client, bearer, "CA9").count("CallArrived") == 1

    action = voice.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "step=" in action
    pressed = {"CallSid": "CA9", "To": NUMBER, "Digits": "2"}
    first = post(action, pressed)
    assert post(action, pressed).text == first.text  # the same step and digits: once
    assert events_of(client, bearer, "CA9").count("IvrInputReceived") == 1
    other = post(action, {**pressed, "Digits": "3"})
    assert other.status_code == 422

    # Without our step in the URL, Twilio's own retry token names the request.
    account = {"CallSid": "CA9", "To": NUMBER, "Digits": "5555"}
    once = post("/v1/twilio/gather", account, retry_token="tok-1")
    assert post("/v1/twilio/gather", account, retry_token="tok-1").text == once.text
    assert events_of(client, bearer, "CA9").count("IvrDataDipCompleted") == 1
