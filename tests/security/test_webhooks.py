"""Webhook signatures: Twilio's requests to the IVR, and our own status callbacks.

Twilio signs each webhook (HMAC-SHA1 of the URL and the form, X-Twilio-Signature) but
with no timestamp: a replay is defeated by idempotency (the CallSid, and the step in the
gather URL), so a replayed webhook answers the same and appends nothing. Our callbacks
carry ``t=<unix>``: a receiver refuses them outside a tolerance window.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from callcenter.events.kit.auth import Role
from callcenter.events.kit.migrations import upgrade
from callcenter.ivr.api.twilio import twilio_signed
from callcenter.ivr.app import create_app as create_ivr
from callcenter.ivr.settings import Settings as IvrSettings
from callcenter.ivr.webhooks.sender import signature, verify_signature
from tests.integration.test_service_kit import KEY, bearer, make_app

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+15550123"
TOKEN = "twilio-auth-token-of-the-tenant"
FLOW = {
    "name": "line",
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompts": ["Press 1."],
            "choices": {"1": "bye"},
            "invalid_prompts": ["Invalid."],
            "no_input_prompts": ["Nothing."],
            "max_attempts": 2,
            "on_failure": "bye",
        },
        "bye": {"type": "hangup", "prompts": ["Goodbye."]},
    },
}


def test_signatures_are_compared_in_constant_time():
    """No signature or MAC is compared with ``==`` or Twilio's own loop anywhere."""
    sources = list(ROOT.glob("services/*/src/**/*.py")) + list(ROOT.glob("libs/events/src/**/*.py"))
    naive = re.compile(r"(signature|mac|digest)\w*\s*[!=]=|[!=]=\s*\w*(signature|mac|digest)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if naive.search(line.lower()) or (".validate(" in line and "RequestValidator" in line)
    ]
    assert not offenders, offenders
    twilio = (ROOT / "services/ivr/src/callcenter/ivr/api/twilio.py").read_text()
    sender = (ROOT / "services/ivr/src/callcenter/ivr/webhooks/sender.py").read_text()
    assert "hmac.compare_digest" in twilio and "hmac.compare_digest" in sender


def test_our_callback_signature_is_verified_and_a_replay_outside_the_window_refused():
    body = '{"type":"call.ended","call_id":"c1"}'
    header = signature("s3cret", 1_000_000, body)
    assert verify_signature("s3cret", header, body, now=1_000_000)
    assert verify_signature("s3cret", header, body, now=1_000_000 + 299)
    assert not verify_signature("s3cret", header, body, now=1_000_000 + 301)  # replayed later
    assert not verify_signature("s3cret", header, body, now=1_000_000 - 301)  # from the future
    assert not verify_signature("s3cret", header, body.replace("c1", "c2"), now=1_000_000)
    assert not verify_signature("other", header, body, now=1_000_000)
    moved = header.replace("t=1000000", "t=1000100")  # a fresh time on an old MAC
    assert not verify_signature("s3cret", moved, body, now=1_000_100)
    for broken in ("", "v1=abc", "t=x,v1=abc", "t=1000000", "t=1,t=1000000," + header[10:]):
        assert not verify_signature("s3cret", broken, body, now=1_000_000), broken
    # Secret rotation: a receiver accepts any of the v1 values it can check.
    rotated = f"{header},v1={'0' * 64}"
    assert verify_signature("s3cret", rotated, body, now=1_000_000)


def test_twilio_signature_checks_url_and_form():
    url, params = "https://ivr.example.com/v1/twilio/voice", {"CallSid": "CA1", "To": NUMBER}
    good = RequestValidator(TOKEN).compute_signature(url, params)
    assert twilio_signed(TOKEN, url, params, good)
    assert twilio_signed(TOKEN, "https://ivr.example.com:443/v1/twilio/voice", params, good)
    assert not twilio_signed(TOKEN, url, {**params, "To": "+15550999"}, good)
    assert not twilio_signed(TOKEN, url.replace("voice", "gather"), params, good)
    assert not twilio_signed("another-token", url, params, good)
    assert not twilio_signed(TOKEN, url, params, "")


def test_twilio_webhooks_unsigned_forged_or_replayed_change_nothing(database_url, kafka, tmp_path):
    admin = bearer("acme", Role.ADMIN)
    with TestClient(make_app("ivr", database_url, kafka, tmp_path)) as client:
        assert client.put("/v1/flows/main", json=FLOW, headers=admin).status_code == 201
        bind = {"flow_id": "main", "version": 1}
        assert client.put(f"/v1/numbers/{NUMBER}", json=bind, headers=admin).status_code == 200
        put = client.put("/v1/telephony", json={"twilio_auth_token": TOKEN}, headers=admin)
        assert put.is_success, put.text
        validator = RequestValidator(TOKEN)

        def post(path, params, sign=True, signed_params=None):
            mac = validator.compute_signature(f"http://testserver{path}", signed_params or params)
            headers = {"X-Twilio-Signature": mac} if sign else {}
            return client.post(path, data=params, headers=headers)

        def events():
            page = client.get("/v1/events?stream_id=ivr.call:acme:CA7&limit=500", headers=admin)
            return [item["type"] for item in page.json()["items"]]

        call = {"CallSid": "CA7", "From": "+12349013030", "To": NUMBER}
        unsigned = post("/v1/twilio/voice", call, sign=False)
        assert unsigned.status_code == 403
        assert unsigned.headers["content-type"].startswith("application/problem+json")
        forged = post("/v1/twilio/voice", {**call, "From": "+19999999999"}, signed_params=call)
        assert forged.status_code == 403
        assert events() == []

        voice = post("/v1/twilio/voice", call)
        assert voice.status_code == 200, voice.text
        assert post("/v1/twilio/voice", call).text == voice.text  # replayed: the same answer
        assert events().count("CallArrived") == 1
        action = voice.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        pressed = {"CallSid": "CA7", "To": NUMBER, "Digits": "1"}
        first = post(action, pressed)
        assert first.status_code == 200, first.text
        before = events()
        assert post(action, pressed).text == first.text  # replayed step: applied once
        assert events() == before
        assert before.count("IvrInputReceived") == 1


def test_unsigned_twilio_webhooks_are_refused_when_signatures_are_required(
    database_url, kafka, tmp_path
):
    """CALLCENTER_IVR_REQUIRE_TWILIO_SIGNATURES: a tenant without a Twilio auth token
    cannot be driven through the Twilio edge at all (nothing to check a signature with)."""
    upgrade("callcenter.ivr", database_url)
    settings = IvrSettings(
        database_url=database_url,
        kafka=kafka,
        data_dir=tmp_path,
        signing_key=KEY,
        require_twilio_signatures=True,
    )
    admin = bearer("acme", Role.ADMIN)
    with TestClient(create_ivr(settings)) as client:
        assert client.put("/v1/flows/main", json=FLOW, headers=admin).status_code == 201
        bind = {"flow_id": "main", "version": 1}
        assert client.put(f"/v1/numbers/{NUMBER}", json=bind, headers=admin).status_code == 200
        call = {"CallSid": "CA8", "From": "+12349013030", "To": NUMBER}
        refused = client.post("/v1/twilio/voice", data=call, headers={"X-Twilio-Signature": "x"})
        assert refused.status_code == 403
        assert "auth token" in refused.json()["detail"]
