"""Queued callbacks: the caller keeps their place, hangs up, and is called back."""

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import CallbackPolicy


def test_a_callback_keeps_its_place_and_is_retried_until_it_connects(desk, event_names):
    desk.queue(wrap_up_seconds=0, callback=CallbackPolicy(max_attempts=3, retry_delay_seconds=300))
    desk.call("c1")
    desk.call("c2")

    assert event_names(desk.do(cmd.RequestCallback("c1", "+33612345678"))) == ["CallbackRequested"]
    assert desk.do(cmd.HangUp("c1", by="caller")) == []  # not an abandon
    assert desk.state.queue_position(desk.state.calls["c1"]) == 1

    desk.agent("alice")
    assert desk.offered_to("c1") == ["alice"]
    assert event_names(desk.log[-2:]) == ["CallOffered", "CallbackOffered"]

    desk.do(cmd.AnswerCall("c1", "alice"))  # alice dials the customer
    events = desk.do(cmd.HangUp("c1", by="agent", outcome="no_answer"))
    assert event_names(events)[:1] == ["CallbackCompleted"]
    assert (events[0].outcome, events[0].attempt) == ("no_answer", 1)
    assert desk.offered_to("c2") == ["alice"]  # c1 waits for its retry time
    desk.do(cmd.AnswerCall("c2", "alice"))
    desk.do(cmd.HangUp("c2", by="caller"))
    assert desk.offered_to("c1") == []

    desk.wait(300)
    assert desk.offered_to("c1") == ["alice"]
    desk.do(cmd.AnswerCall("c1", "alice"))
    events = desk.do(cmd.HangUp("c1", by="agent", outcome="connected"))
    assert event_names(events)[:2] == ["CallEnded", "CallbackCompleted"]
    assert (events[1].outcome, events[1].attempt) == ("connected", 2)
    assert "c1" not in desk.state.calls


def test_a_callback_is_given_up_after_its_last_attempt(desk):
    desk.queue(wrap_up_seconds=0, callback=CallbackPolicy(max_attempts=1))
    desk.agent("alice")
    desk.agent("bob", ready=False)
    desk.do(cmd.MakeNotReady("alice"))
    desk.call("c1")
    desk.do(cmd.RequestCallback("c1", "+33612345678"))
    desk.do(cmd.MakeReady("alice"))
    desk.do(cmd.AnswerCall("c1", "alice"))

    [completed, *_] = desk.do(cmd.HangUp("c1", by="agent", outcome="busy"))

    assert completed.outcome == "gave_up"
    assert "c1" not in desk.state.calls


def test_a_callback_is_offered_to_one_agent_even_in_ring_all(desk):
    desk.queue(strategy="ring_all")
    desk.call("c1")
    desk.do(cmd.RequestCallback("c1", "+33612345678"))

    desk.agent("alice", ready=False)
    desk.agent("bob", ready=False)
    desk.do(cmd.MakeReady("alice"))
    desk.do(cmd.MakeReady("bob"))

    assert desk.offered_to("c1") == ["alice"]
