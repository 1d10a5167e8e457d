"""The ACD core, one story at a time: a call from queue to wrap-up."""

from datetime import timedelta

import pytest

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.errors import Conflict, NotFound
from callcenter.routing.domain.snapshot import snapshot_bytes


def test_a_call_goes_to_the_agent_idle_longest(desk, event_names):
    desk.queue()
    desk.agent("alice")
    desk.wait(30)
    desk.agent("bob")

    events = desk.call("c1", ani="+33100000001")

    assert event_names(events) == ["CallQueued", "CallOffered"]
    assert desk.offered_to("c1") == ["alice"]
    offer = events[1]
    assert offer.explanation["strategy"] == "longest_idle"
    assert [c["agent_id"] for c in offer.explanation["candidates"]] == ["alice", "bob"]
    assert (offer.offer_expires_at - desk.now).total_seconds() == 15


def test_answer_talk_end_and_wrap_up_back_to_ready(desk, event_names):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")
    desk.call("c1")
    desk.wait(3)

    answered = desk.do(cmd.AnswerCall("c1", "alice"))
    assert event_names(answered) == ["CallAnswered"]
    assert answered[0].ring == 3 and answered[0].wait == 3
    assert desk.status("alice") == "on_call"

    desk.wait(117)
    ended = desk.do(cmd.HangUp("c1", by="caller"))
    assert event_names(ended) == ["CallEnded", "AgentWrapUpStarted"]
    assert ended[0].talk == 117
    assert desk.status("alice") == "wrap_up"

    assert event_names(desk.wait(9)) == []
    assert event_names(desk.wait(1)) == ["DeadlinesPassed", "AgentWrapUpEnded"]
    assert desk.status("alice") == "ready"
    assert "c1" not in desk.state.calls


def test_wrap_up_ends_early_and_takes_the_next_caller(desk, event_names):
    desk.queue(wrap_up_seconds=60)
    desk.agent("alice")
    desk.call("c1")
    desk.do(cmd.AnswerCall("c1", "alice"))
    desk.do(cmd.HangUp("c1", by="agent"))
    desk.call("c2")

    events = desk.do(cmd.FinishWrapUp("alice"))

    assert event_names(events) == ["AgentWrapUpEnded", "CallOffered"]
    assert desk.offered_to("c2") == ["alice"]


def test_no_answer_reoffers_and_repeated_misses_set_the_agent_not_ready(desk, event_names):
    desk.queue(ring_timeout_seconds=10, max_consecutive_misses=1)
    desk.agent("alice")
    desk.wait(1)
    desk.agent("bob")
    desk.call("c1")
    assert desk.offered_to("c1") == ["alice"]

    events = desk.wait(10)

    assert event_names(events) == [
        "DeadlinesPassed", "CallOfferDeclined", "AgentNotReady", "CallOffered",
    ]  # fmt: skip
    assert events[1].reason == "timed_out"
    assert events[2].reason == "missed_offers"
    assert desk.offered_to("c1") == ["bob"]
    assert desk.status("alice") == "not_ready"


def test_a_rejected_call_goes_to_the_next_agent(desk, event_names):
    desk.queue()
    desk.agent("alice")
    desk.wait(1)
    desk.agent("bob")
    desk.call("c1")

    events = desk.do(cmd.RejectCall("c1", "alice"))

    assert event_names(events) == ["CallOfferDeclined", "CallOffered"]
    assert desk.offered_to("c1") == ["bob"]
    assert desk.status("alice") == "ready"


def test_a_caller_hanging_up_while_waiting_abandons(desk, event_names):
    desk.queue()
    desk.call("c1")
    desk.call("c2")
    desk.wait(12)

    events = desk.do(cmd.HangUp("c2", by="caller"))

    assert event_names(events) == ["CallAbandoned"]
    assert (events[0].wait, events[0].position) == (12, 2)
    assert list(desk.state.calls) == ["c1"]


def test_a_caller_hanging_up_while_ringing_frees_the_agent(desk, event_names):
    desk.queue()
    desk.agent("alice")
    desk.call("c1")

    events = desk.do(cmd.HangUp("c1", by="caller"))

    assert event_names(events) == ["CallOfferCancelled", "CallAbandoned"]
    assert desk.status("alice") == "ready"


def test_answering_an_expired_offer_is_refused_and_changes_nothing(desk):
    desk.queue(ring_timeout_seconds=5)
    desk.agent("alice")
    desk.call("c1")
    desk.now += timedelta(seconds=6)  # no tick yet: the offer is still recorded
    before = snapshot_bytes(desk.state)

    with pytest.raises(Conflict, match="expired"):
        desk.do(cmd.AnswerCall("c1", "alice"))

    assert snapshot_bytes(desk.state) == before


@pytest.mark.parametrize(
    ("command", "error", "message"),
    [
        (cmd.EnqueueCall("c9", "nowhere"), NotFound, "queue 'nowhere' does not exist"),
        (cmd.MakeReady("ghost"), NotFound, "agent 'ghost' does not exist"),
        (cmd.MakeReady("carol"), Conflict, "agent 'carol' is not logged in"),
        (cmd.AnswerCall("c1", "bob"), Conflict, "not offered to agent 'bob'"),
        (cmd.AnswerCall("c404", "alice"), NotFound, "call 'c404'"),
        (cmd.FinishWrapUp("alice"), Conflict, "not in wrap-up"),
        (cmd.EnqueueCall("c1", "q1"), Conflict, "already queued"),
    ],
)
def test_bad_commands_are_refused_with_a_reason_and_change_nothing(desk, command, error, message):
    desk.queue()
    desk.agent("alice")
    desk.agent("bob", ready=False)
    desk.do(cmd.ConfigureAgent("carol", desk.state.agents["alice"].config))
    desk.call("c1")
    before = snapshot_bytes(desk.state)

    with pytest.raises(error, match=message):
        desk.do(command)

    assert snapshot_bytes(desk.state) == before


def test_position_and_estimated_wait_follow_the_queue(desk):
    desk.queue(wrap_up_seconds=0)
    desk.agent("alice")
    desk.agent("bob")
    desk.call("c1")
    desk.call("c2")  # both agents ringing now
    queued = desk.call("c3")[0]

    assert queued.position == 1
    # Two agents staff the queue; before any call the handle time is assumed 180 s.
    assert queued.ewt == 90.0
