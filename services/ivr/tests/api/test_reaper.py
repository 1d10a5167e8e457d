"""Calls whose hang-up the provider lost are ended after their maximum age, once."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from callcenter.ivr.app import create_app

NUMBER = "+15551234"
MAX_AGE = 60.0


@pytest.fixture
def settings(ivr_settings):
    return ivr_settings.model_copy(update={"call_max_age_seconds": MAX_AGE})


def later(seconds: float):
    return lambda: time.time() + seconds


def start(client, bearer, call_id, *digits, key=None):
    headers = {**bearer(), **({"Idempotency-Key": key} if key else {})}
    new = {"from": "+33612345678", "to": NUMBER, "call_id": call_id}
    response = client.post("/v1/calls", json=new, headers=headers)
    for pressed in digits:
        client.post(f"/v1/calls/{call_id}/input", json={"digits": pressed}, headers=bearer())
    return response


def events_of(client, bearer, call_id):
    page = client.get(f"/v1/events?stream_id=ivr.call:acme:{call_id}&limit=500", headers=bearer())
    return [(item["type"], item["data"]) for item in page.json()["items"]]


def reap(client, seconds: float) -> int:
    """One reaping as if ``seconds`` had passed. The reaper's own loop keeps the real
    clock: with a clock moved forward it would reap, in the background, the calls the
    test starts next."""
    reaper = client.app.state.ivr.reaper
    return client.portal.call(reaper.reap_due, time.time() + seconds)


def test_forgotten_calls_are_ended_once_after_their_maximum_age(
    settings, queues, bearer, menu_flow
):
    with TestClient(create_app(settings)) as client:
        assert client.put("/v1/flows/main", json=menu_flow(), headers=bearer()).status_code == 201
        bind = {"flow_id": "main", "version": 1}
        assert client.put(f"/v1/numbers/{NUMBER}", json=bind, headers=bearer()).is_success
        start(client, bearer, "in-ivr")
        start(client, bearer, "queued", "1")
        start(client, bearer, "hung-up")
        client.post("/v1/calls/hung-up/hangup", headers=bearer())
        assert reap(client, MAX_AGE - 5) == 0  # not yet

        assert reap(client, MAX_AGE + 5) == 2
        in_ivr = events_of(client, bearer, "in-ivr")
        assert [kind for kind, _ in in_ivr[-2:]] == ["IvrCompleted", "CallHungUp"]
        assert in_ivr[-2][1]["outcome"] == "hung_up"
        assert (in_ivr[-1][1]["by"], in_ivr[-1][1]["reason"]) == ("system", "max_age")
        queued = events_of(client, bearer, "queued")
        assert queued[-1][0] == "CallHungUp" and queued[-1][1]["reason"] == "max_age"
        assert client.get("/v1/calls/queued", headers=bearer()).json()["status"] == "ended"
        assert [kind for kind, _ in events_of(client, bearer, "hung-up")].count("CallHungUp") == 1

        assert reap(client, MAX_AGE + 500) == 0  # fired once
        assert len(events_of(client, bearer, "in-ivr")) == len(in_ivr)
        start(client, bearer, "survivor", key="k1")

    with TestClient(create_app(settings)) as client:  # the service restarted
        assert reap(client, MAX_AGE + 5) == 1
        survivor = events_of(client, bearer, "survivor")
        assert survivor[-1][1]["reason"] == "max_age"
        assert reap(client, MAX_AGE + 5) == 0

        # Old Idempotency-Keys are forgotten: the same key is then a new request.
        replayed = start(client, bearer, "survivor", key="k1")
        assert replayed.status_code == 201
        reaper = client.app.state.ivr.reaper
        reaper.clock = later(settings.idempotency_key_seconds + 5)
        client.portal.call(reaper.forget_keys)
        assert start(client, bearer, "survivor", key="k1").status_code == 409
