"""Outbound legs, pure: each provider status maps, the outcome is told once, an answered
leg connects."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from callcenter.events.catalogue.ivr import CallHungUp, OutboundCallStatus
from callcenter.ivr.domain.instructions import Connect, Enqueue, Hangup, Say
from callcenter.ivr.domain.outbound import Leg, connect, evolve, outcome, report, twilio_create_call

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LEG = Leg(call_id="o1", number="+15550001111", queue_id="sales", placed_at=AT, campaign_id="k")


@pytest.mark.parametrize(
    ("status", "answered_by", "expected"),
    [
        ("queued", None, None),
        ("ringing", None, None),
        ("in-progress", None, "answered"),
        ("in-progress", "human", "answered"),
        ("in-progress", "unknown", "answered"),
        ("in-progress", "machine_start", "machine"),
        ("in-progress", "machine_end_beep", "machine"),
        ("in-progress", "fax", "machine"),
        ("completed", "machine_end_silence", "machine"),
        ("completed", None, "answered"),
        ("busy", None, "busy"),
        ("no-answer", None, "no_answer"),
        ("failed", None, "failed"),
        ("canceled", None, "failed"),
    ],
)
def test_each_provider_status_maps(status, answered_by, expected):
    assert outcome(status, answered_by) == expected


def play(leg: Leg, *reports: tuple[str, str | None]) -> tuple[Leg, list]:
    emitted = []
    for status, answered_by in reports:
        events = report(leg, status, answered_by, AT + timedelta(seconds=7))
        for event in events:
            leg = evolve(leg, event)
        emitted += events
    return leg, emitted


def test_the_outcome_is_told_once_whatever_the_retries():
    leg, events = play(LEG, ("ringing", None), ("busy", None), ("busy", None), ("failed", None))
    assert [type(e) for e in events] == [OutboundCallStatus]
    assert (events[0].status, events[0].ring, events[0].campaign_id) == ("busy", 7.0, "k")
    assert leg.outcome == "busy"


def test_an_answered_leg_that_completes_hangs_up_once():
    leg, events = play(
        LEG,
        ("in-progress", "human"),
        ("in-progress", "human"),
        ("completed", None),
        ("completed", None),
    )
    assert [type(e) for e in events] == [OutboundCallStatus, CallHungUp]
    assert events[0].status == "answered" and events[1].by == "caller"
    assert leg.ended


def test_a_machine_is_not_a_conversation():
    leg, events = play(LEG, ("in-progress", "machine_start"), ("completed", None))
    assert [e.status for e in events] == ["machine"]
    assert connect(leg, "sorry") == [Hangup()]


def test_an_answered_leg_connects_to_the_reserved_agent_or_the_queue_or_hears_the_message():
    answered = Leg(call_id="o1", number="+1555", queue_id="sales", outcome="answered")
    assert connect(answered, "sorry") == [Enqueue(queue="sales", skills={}, priority=0)]
    reserved = Leg(
        call_id="o1", number="+1555", queue_id="sales", agent_id="a1", outcome="answered"
    )
    assert connect(reserved, "sorry") == [Connect(agent_id="a1", queue="sales")]
    abandoned = Leg(call_id="o1", number="+1555", outcome="answered", abandoned=True)
    assert connect(abandoned, "Sorry, ACME here.") == [
        Say(text="Sorry, ACME here.", language="en-US"),
        Hangup(),
    ]


class Capture(HttpClient):
    def __init__(self) -> None:
        super().__init__(logging.getLogger(__name__), is_async=False)
        self.sent: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **_):
        self.sent.append({"method": method, "uri": uri, "data": data, "auth": auth})
        return Response(201, json.dumps({"sid": "CA" + "0" * 32, "status": "queued"}))


def test_the_create_call_form_is_the_one_twilios_client_sends():
    capture = Capture()
    client = Client("AC" + "1" * 32, "token", http_client=capture)
    client.calls.create(
        to="+15550001111",
        from_="+15550009999",
        url="https://ivr.example/answer",
        method="POST",
        status_callback="https://ivr.example/status",
        status_callback_event=["answered", "completed"],
        status_callback_method="POST",
        timeout=25,
        machine_detection="Enable",
    )
    sent = capture.sent[0]
    theirs = sorted(
        (key, str(item))
        for key, value in sent["data"].items()
        for item in (value if isinstance(value, list) else [value])
    )
    ours = twilio_create_call(
        to="+15550001111",
        caller_id="+15550009999",
        answer_url="https://ivr.example/answer",
        status_url="https://ivr.example/status",
        timeout=25,
        detect_machine=True,
    )
    assert sorted(ours) == theirs
    assert sent["uri"].endswith(f"/2010-04-01/Accounts/AC{'1' * 32}/Calls.json")
