"""The flow engine, node type by node type: what the caller hears and what is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.ivr.domain.engine import (
    CallState,
    CommandRejected,
    DipCompleted,
    HangUp,
    Input,
    RecordingCompleted,
    StartCall,
    decide,
    decide_and_evolve,
    evolve,
)
from callcenter.ivr.domain.flow import Flow
from callcenter.ivr.domain.instructions import Enqueue, Gather, Hangup, Record, Say, instructions

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class Call:
    """A call driven through the pure core, remembering every event and instruction."""

    def __init__(self, document: dict, now: datetime = MONDAY_10) -> None:
        self.state = CallState(flow=Flow.model_validate(document))
        self.now = now
        self.events: list = []
        self.heard: list = []
        self.send(StartCall("c1", "+33612345678", "+15550100", "f", 1))

    def send(self, command) -> list:
        decision = decide_and_evolve(command, self.state, self.now)
        self.heard = instructions(decision)
        state = self.state
        for event in decision.events:
            state = evolve(state, event)
        assert state == decision.after  # evolve over the events gets where decide went
        self.state = decision.after
        self.events += decision.events
        return decision.events

    def press(self, digits: str = "", timeout: bool = False) -> list:
        return self.send(Input(digits, timeout))

    def types(self) -> list[str]:
        return [event.event_type for event in self.events]

    def said(self) -> list[str]:
        out = []
        for item in self.heard:
            if isinstance(item, Say):
                out.append(item.text)
            if isinstance(item, Gather):
                out += [prompt.text for prompt in item.prompts]
        return out


def test_say_then_menu_choice_enqueues_with_skills_and_priority(menu_flow):
    call = Call(menu_flow())
    assert call.types() == ["CallArrived", "IvrNodeEntered", "IvrNodeEntered"]
    assert call.said() == ["Hello +33612345678.", "Sales 1, account 2, goodbye 3."]
    assert call.state.awaiting == "input"

    call.press("1")
    enqueue = call.events[-2]
    assert enqueue.event_type == "CallEnqueueRequested"
    assert (enqueue.queue_id, enqueue.skills, enqueue.priority) == ("sales", {"sales": 2}, 3)
    assert enqueue.attributes["topic"] == "sales"  # the menu choice set it
    assert call.events[-1].outcome == "queued"
    assert call.heard == [Enqueue(queue="sales", skills={"sales": 2}, priority=3)]
    assert call.state.status == "left_ivr"


def test_menu_invalid_key_reprompts_then_fails_over_after_max_attempts(menu_flow):
    call = Call(menu_flow())
    call.press("7")
    invalid = call.events[-1]
    assert (invalid.event_type, invalid.digits, invalid.attempt) == ("IvrInputInvalid", "7", 1)
    assert call.said() == ["Invalid.", "Sales 1, account 2, goodbye 3."]

    call.press(timeout=True)  # second and last attempt: silence
    assert call.types()[-2:] == ["IvrInputInvalid", "IvrNodeEntered"]
    assert call.state.node_id == "voicemail"
    assert call.said()[0] == "Nothing heard."
    assert isinstance(call.heard[-1], Record)


def test_empty_digits_count_as_no_input(menu_flow):
    call = Call(menu_flow())
    call.press("")
    assert call.events[-1].timeout is True
    assert call.said()[0] == "Nothing heard."


def test_collect_checks_length_and_pattern_then_confirms(menu_flow):
    flow = menu_flow()
    flow["nodes"]["account"] |= {"pattern": "[1-9][0-9]*", "confirm": True}
    call = Call(flow)
    call.press("2")
    call.press("0123")  # pattern: no leading zero
    assert call.events[-1].event_type == "IvrInputInvalid"
    call.press("1234")
    assert call.said() == ["You entered 1 2 3 4. Press 1 to confirm, or 2 to enter it again."]
    call.press("2")  # enter it again
    assert call.state.node_id == "account" and call.said() == ["Account number?"]
    call.press("5678")
    call.press("1")
    assert call.state.variables["account"] == "5678"
    assert call.state.awaiting == "dip"


def test_collect_failure_goes_to_on_failure(menu_flow):
    call = Call(menu_flow())
    call.press("2")
    for _ in range(3):
        call.press("12")
    assert call.state.outcome == "queued"  # account.on_failure is the sales queue


def test_http_dip_results_become_variables(menu_flow):
    call = Call(menu_flow())
    call.press("2")
    call.press("1234")
    call.send(DipCompleted("ok", body={"balance": 42.5}))
    assert call.state.variables["balance"] == "42.5"
    assert call.said() == ["Balance 42.5.", "Goodbye."]
    assert call.heard[-1] == Hangup()
    assert call.types()[-2:] == ["IvrCompleted", "CallHungUp"]
    assert call.state.outcome == "self_served" and call.state.status == "ended"


@pytest.mark.parametrize(
    ("outcome", "body"), [("timeout", None), ("error", None), ("ok", {"other": 1})]
)
def test_http_dip_timeout_error_or_missing_field_takes_the_fallback(menu_flow, outcome, body):
    call = Call(menu_flow())
    call.press("2")
    call.press("1234")
    call.send(DipCompleted(outcome, body=body))
    dip = next(event for event in call.events if event.event_type == "IvrDataDipCompleted")
    assert dip.outcome == outcome
    assert call.state.path[-2:] == ("lookup", "sales")
    assert call.state.outcome == "queued"


def test_voicemail_records_and_ends(menu_flow):
    call = Call(menu_flow())
    call.press("9")
    call.press("9")
    call.send(RecordingCompleted("https://r.example/1.wav", 12.0))
    assert call.types()[-3:] == ["VoicemailRecorded", "IvrCompleted", "CallHungUp"]
    assert call.events[-2].outcome == "voicemail"


def test_set_and_condition_route_on_variables():
    flow = {
        "start": "vip",
        "nodes": {
            "vip": {"type": "set", "variables": {"tier": "gold", "who": "{ani}"}, "next": "is"},
            "is": {
                "type": "condition",
                "rules": [
                    {"variable": "tier", "op": "in", "value": ["gold", "platinum"], "next": "q"},
                ],
                "otherwise": "bye",
            },
            "q": {"type": "enqueue", "queue": "vip", "skills": {"vip": "{level}"}, "priority": 9},
            "bye": {"type": "hangup"},
        },
    }
    call = Call(flow)
    assert call.state.variables["who"] == "+33612345678"
    assert call.state.queue_id == "vip"
    assert call.events[-2].skills == {}  # an unset level is left out, not sent as garbage


def test_business_hours_with_holidays_and_time_zone():
    def flow(holidays=()):
        return {
            "start": "h",
            "nodes": {
                "h": {
                    "type": "hours",
                    "timezone": "Asia/Shanghai",
                    "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]},
                    "holidays": list(holidays),
                    "open": "open",
                    "closed": "closed",
                },
                "open": {"type": "hangup", "prompts": ["open"]},
                "closed": {"type": "hangup", "prompts": ["closed"]},
            },
        }

    monday_0200_utc = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert Call(flow(), monday_0200_utc).said() == ["open"]
    assert Call(flow(), monday_0200_utc + timedelta(hours=9)).said() == ["closed"]
    assert Call(flow(["2026-11-23"]), monday_0200_utc).said() == ["closed"]


def test_callback_offer_accepted_or_declined():
    flow = {
        "start": "offer",
        "nodes": {
            "offer": {
                "type": "callback",
                "prompts": ["Press 1 for a callback."],
                "queue": "general",
                "accepted_prompts": ["We will call {ani}."],
                "next": "q",
            },
            "q": {"type": "enqueue", "queue": "general"},
        },
    }
    accepted = Call(flow)
    accepted.press("1")
    assert accepted.types()[-3:] == ["CallbackOfferAccepted", "IvrCompleted", "CallHungUp"]
    assert accepted.events[-3].number == "+33612345678"
    assert accepted.said() == ["We will call +33612345678."]
    declined = Call(flow)
    declined.press(timeout=True)
    assert declined.state.outcome == "queued"


def test_transfer_leaves_the_ivr():
    flow = {"start": "t", "nodes": {"t": {"type": "transfer", "number": "+441234567"}}}
    call = Call(flow)
    assert call.state.outcome == "transferred"
    assert call.heard[-1].number == "+441234567"


def test_hang_up_in_ivr_and_in_queue(menu_flow):
    in_ivr = Call(menu_flow())
    in_ivr.send(HangUp())
    assert in_ivr.types()[-2:] == ["IvrCompleted", "CallHungUp"]
    assert in_ivr.events[-2].outcome == "hung_up" and in_ivr.events[-1].by == "caller"

    queued = Call(menu_flow())
    queued.press("1")
    queued.send(HangUp())
    assert queued.types()[-1] == "CallHungUp"  # routing sees it: an abandon
    assert queued.state.outcome == "queued"


def test_commands_that_do_not_fit_are_rejected_and_change_nothing(menu_flow):
    call = Call(menu_flow())
    with pytest.raises(CommandRejected, match="waiting for input"):
        call.send(RecordingCompleted("https://r", 1))
    call.send(HangUp())
    for command in (Input("1"), HangUp(), StartCall("c1", "1", "2", "f", 1)):
        with pytest.raises(CommandRejected):
            decide(command, call.state, call.now)


def test_a_call_out_of_steps_is_ended_by_the_system(menu_flow):
    flow = menu_flow(max_steps=4)
    call = Call(flow)  # welcome, menu: 2 steps
    call.press("7")  # 3
    call.press("7")  # 4 -> on_failure would be a 5th: ended
    assert call.state.status == "ended" and call.state.outcome == "hung_up"
    assert call.heard[-1] == Hangup()
    assert not any(isinstance(item, Gather) for item in call.heard)


def test_in_the_queue_the_callback_digit_keeps_the_place_and_other_keys_are_refused(menu_flow):
    flow = menu_flow()
    flow["nodes"]["sales"]["callback"] = {"accept_digit": "9", "number": "+1{account}"}
    call = Call(flow)
    call.press("1")
    assert call.state.outcome == "queued"
    with pytest.raises(CommandRejected):
        call.press("1")
    with pytest.raises(CommandRejected):
        call.press(timeout=True)
    events = call.press("9")
    assert [event.event_type for event in events] == ["CallbackOfferAccepted", "CallHungUp"]
    assert (events[0].queue_id, events[0].number) == ("sales", "+1")
    assert events[1].by == "caller"  # routing: the caller keeps the place and hangs up
    assert isinstance(call.heard[-1], Hangup)
    assert call.said() == ["Thank you. You keep your place and we will call you back."]


def test_a_system_hang_up_says_why(menu_flow):
    call = Call(menu_flow())
    [completed, hung_up] = call.send(HangUp(by="system", reason="max_age"))
    assert completed.outcome == "hung_up"
    assert (hung_up.by, hung_up.reason) == ("system", "max_age")
