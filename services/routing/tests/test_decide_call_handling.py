"""Call handling in the ACD core: hold, mute, transfers, consult, conference, wrap-up
codes, not-ready reasons and time in state. Every refusal changes nothing, and the
log replays to the same state."""

from __future__ import annotations

from datetime import timedelta

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import BusinessHours, TenantSettings
from callcenter.routing.domain.errors import Conflict, Invalid, NotFound
from callcenter.routing.domain.snapshot import from_snapshot, to_snapshot


def connected(desk, call_id: str = "c1", agent: str = "alice", talk: float = 0) -> None:
    """A call answered by ``agent`` (the only ready agent) ``talk`` seconds ago."""
    desk.call(call_id)
    assert desk.offered_to(call_id) == [agent]
    desk.do(cmd.AnswerCall(call_id, agent))
    if talk:
        desk.now += timedelta(seconds=talk)


# -- hold and mute ---------------------------------------------------------------------


def test_holds_add_up_and_the_end_reports_talk_and_hold_apart(desk, event_names):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")
    connected(desk, talk=30)

    held = desk.do(cmd.HoldCall("c1", "alice"))
    assert event_names(held) == ["CallHeld"]
    desk.now += timedelta(seconds=20)
    resumed = desk.do(cmd.ResumeCall("c1", "alice"))
    assert event_names(resumed) == ["CallResumed"] and resumed[0].hold == 20
    desk.now += timedelta(seconds=10)
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.now += timedelta(seconds=5)

    ended = desk.do(cmd.HangUp("c1", by="caller"))  # while on hold: that hold counts too

    assert event_names(ended) == ["CallEnded", "AgentWrapUpStarted"]
    assert (ended[0].talk, ended[0].hold) == (40, 25)
    desk.assert_replays()


def test_hold_and_mute_refusals(desk):
    desk.queue()
    desk.agent("alice")
    desk.agent("bob", ready=False)
    connected(desk)

    desk.refuses(cmd.ResumeCall("c1", "alice"), Conflict, "call 'c1' is not on hold")
    desk.refuses(cmd.HoldCall("c1", "bob"), Conflict, "is with agent 'alice', not 'bob'")
    desk.refuses(cmd.HoldCall("c9", "alice"), NotFound, "call 'c9'")
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.refuses(cmd.HoldCall("c1", "alice"), Conflict, "already on hold")

    desk.do(cmd.MuteCall("c1", "alice"))
    assert desk.state.calls["c1"].muted
    desk.refuses(cmd.MuteCall("c1", "alice"), Conflict, "already muted")
    assert [type(e).__name__ for e in desk.do(cmd.MuteCall("c1", "alice", muted=False))] == [
        "CallUnmuted"
    ]
    desk.refuses(cmd.MuteCall("c1", "alice", muted=False), Conflict, "already unmuted")


def test_a_ringing_call_cannot_be_held(desk):
    desk.queue()
    desk.agent("alice")
    desk.call("c1")
    desk.refuses(cmd.HoldCall("c1", "alice"), Conflict, "is not connected to an agent")


# -- blind transfer --------------------------------------------------------------------


def test_blind_transfer_to_a_queue_is_a_new_visit_aging_from_the_first(desk, event_names):
    desk.queue("q1", wrap_up_seconds=10)
    desk.queue("q2", skills={"billing": 1}, priority_step_seconds=60)
    desk.agent("alice")
    desk.agent("bill", ready=False, skills={"billing": 5})
    desk.now += timedelta(seconds=40)  # somebody already waits in q2, queued 10 s after c1
    connected(desk, talk=20)
    desk.now += timedelta(seconds=-10)
    desk.call("c2", "q2")
    desk.now += timedelta(seconds=10)

    events = desk.do(cmd.TransferCall("c1", "alice", to_queue_id="q2"))

    assert event_names(events) == [
        "CallTransferred", "CallEnded", "CallQueued", "AgentWrapUpStarted"
    ]  # fmt: skip
    transferred, ended, queued, _ = events
    assert (transferred.kind, transferred.to_queue_id, transferred.queue_id) == (
        "blind",
        "q2",
        "q1",
    )
    assert ended.transferred and ended.talk == 20
    assert queued.queue_id == "q2" and queued.enqueued_at == desk.state.calls["c1"].enqueued_at
    assert queued.position == 1  # c1 queued first, so it goes ahead of c2
    assert desk.status("alice") == "wrap_up"

    answered = desk.do(cmd.MakeReady("bill"))
    assert event_names(answered) == ["AgentReady", "CallOffered"] and answered[1].call_id == "c1"
    events = desk.do(cmd.AnswerCall("c1", "bill"))
    assert events[0].wait == 0 and events[0].queue_id == "q2"  # its wait in q2
    desk.assert_replays()


def test_blind_transfer_to_a_named_agent_rings_them_alone(desk, event_names):
    desk.queue(wrap_up_seconds=10, ring_timeout_seconds=15)
    desk.agent("alice")
    connected(desk, talk=60)
    desk.agent("bob")
    desk.agent("carol")

    events = desk.do(cmd.TransferCall("c1", "alice", to_agent_id="carol"))

    assert event_names(events) == ["CallTransferred", "CallEnded", "CallOffered",
                                   "AgentWrapUpStarted"]  # fmt: skip
    assert events[2].agent_id == "carol"
    assert desk.offered_to("c1") == ["carol"]
    desk.now += timedelta(seconds=4)
    answered = desk.do(cmd.AnswerCall("c1", "carol"))
    assert answered[0].wait == 0 and answered[0].ring == 4  # the wait of its first answer
    desk.assert_replays()


def test_a_named_agent_who_lets_the_transfer_ring_out_leaves_it_to_the_queue(desk):
    desk.queue(ring_timeout_seconds=10, max_wait_seconds=30)
    desk.agent("alice")
    connected(desk, talk=300)
    desk.agent("carol")
    desk.do(cmd.TransferCall("c1", "alice", to_agent_id="carol"))
    desk.agent("bob")

    desk.wait(10)

    assert desk.offered_to("c1") == ["bob"]  # still waiting, not past its max wait
    desk.assert_replays()


def test_blind_transfer_refusals(desk):
    desk.queue("q1")
    closed = BusinessHours(pattern="5x8", opens="08:00", closes="09:00")  # it is 09:00
    desk.queue("support", hours=closed)
    desk.queue("tiny", max_length=1)
    desk.agent("alice")
    desk.agent("bob", ready=False)
    desk.do(cmd.LogOut("bob"))
    connected(desk)
    desk.call("c2", "tiny")

    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="support"), Conflict,
            "queue 'support' is closed")  # fmt: skip
    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="tiny"), Conflict, "is full")
    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="nope"), NotFound, "'nope'")
    desk.refuses(cmd.TransferCall("c1", "alice", to_agent_id="bob"), Conflict,
            "agent 'bob' is logged out")  # fmt: skip
    desk.refuses(cmd.TransferCall("c1", "alice", to_agent_id="alice"), Conflict,
            "already on the call")  # fmt: skip
    desk.refuses(cmd.TransferCall("c1", "alice"), Invalid, "name exactly one")
    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="q1", to_number="+3312345"),
            Invalid, "name exactly one")  # fmt: skip
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="support"), Conflict,
            "call 'c1' is on hold: resume it before transferring")  # fmt: skip


def test_transfer_to_an_external_number_ends_the_call_for_routing(desk, event_names):
    desk.queue(wrap_up_seconds=5)
    desk.agent("alice")
    connected(desk, talk=12)

    events = desk.do(cmd.TransferCall("c1", "alice", to_number="+33140000000"))

    assert event_names(events) == ["CallTransferred", "CallEnded", "AgentWrapUpStarted"]
    assert (events[0].kind, events[0].number) == ("external", "+33140000000")
    assert events[1].talk == 12 and events[1].transferred
    assert "c1" not in desk.state.calls
    desk.assert_replays()


# -- consult (warm) transfer ------------------------------------------------------------


def test_consult_then_complete_gives_the_caller_to_the_second_agent(desk, event_names):
    desk.queue(wrap_up_seconds=10, announce_agent_number=True)
    desk.agent("alice", work_number="1001")
    connected(desk, talk=30)
    desk.agent("bob", work_number="1002")

    started = desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    assert event_names(started) == ["CallHeld", "CallConsultStarted"]
    assert desk.status("bob") == "on_call"
    desk.refuses(cmd.ResumeCall("c1", "alice"), Conflict, "complete or cancel it")
    desk.refuses(cmd.TransferCall("c1", "alice", to_number="+3312345"), Conflict,
            "in a consult with agent 'bob'")  # fmt: skip
    desk.now += timedelta(seconds=45)

    done = desk.do(cmd.CompleteConsult("c1", "alice"))

    assert event_names(done) == ["CallResumed", "CallTransferred", "CallEnded", "CallAnswered",
                                 "AgentWrapUpStarted"]  # fmt: skip
    assert done[1].kind == "consult" and done[1].to_agent_id == "bob"
    assert (done[2].agent_id, done[2].talk, done[2].hold) == ("alice", 30, 45)
    assert (done[3].agent_id, done[3].announce) == ("bob", "1002")
    assert desk.status("alice") == "wrap_up" and desk.status("bob") == "on_call"
    desk.now += timedelta(seconds=60)
    ended = desk.do(cmd.HangUp("c1", by="caller"))
    assert (ended[0].agent_id, ended[0].talk, ended[0].hold) == ("bob", 60, 0)
    desk.assert_replays()


def test_consult_cancelled_returns_to_the_caller_and_frees_the_consulted(desk, event_names):
    desk.queue()
    desk.agent("alice")
    connected(desk)
    desk.agent("bob")
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    desk.now += timedelta(seconds=8)
    desk.call("c2")  # waits: everyone is busy

    events = desk.do(cmd.CancelConsult("c1", "alice"))

    assert event_names(events) == ["CallConsultEnded", "CallResumed", "CallOffered"]
    assert events[0].reason == "cancelled" and events[1].hold == 8
    assert desk.offered_to("c2") == ["bob"]
    assert desk.state.calls["c1"].held_since is None
    desk.assert_replays()


def test_after_the_consulted_agent_hangs_up_completing_is_refused(desk, event_names):
    desk.queue()
    desk.agent("alice")
    connected(desk)
    desk.agent("bob")
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))

    hung_up = desk.do(cmd.CancelConsult("c1", "bob"))

    assert event_names(hung_up) == ["CallConsultEnded"]
    assert hung_up[0].reason == "consulted_hung_up"
    assert desk.state.calls["c1"].held_since is not None  # the caller still waits on hold
    desk.refuses(cmd.CompleteConsult("c1", "alice"), Conflict, "has no consult in progress")
    assert event_names(desk.do(cmd.ResumeCall("c1", "alice"))) == ["CallResumed"]
    desk.assert_replays()


def test_consult_a_queue_takes_its_longest_idle_ready_agent(desk):
    desk.queue("q1")
    desk.queue("billing", skills={"billing": 3})
    desk.agent("alice")
    connected(desk)
    desk.agent("bill", skills={"billing": 5})
    desk.agent("bea", skills={"billing": 2})  # below the queue's level

    desk.refuses(cmd.StartConsult("c1", "alice", to_queue_id="q2"), NotFound, "'q2'")
    desk.do(cmd.StartConsult("c1", "alice", to_queue_id="billing"))

    assert desk.state.calls["c1"].party_agent_id == "bill"


def test_consult_refusals(desk):
    desk.queue("q1")
    desk.queue("billing", skills={"billing": 3})
    desk.agent("alice")
    desk.agent("bob", ready=False)
    connected(desk)

    desk.refuses(cmd.StartConsult("c1", "alice", to_agent_id="bob"), Conflict,
            "agent 'bob' is not ready (logged_in)")  # fmt: skip
    desk.refuses(cmd.StartConsult("c1", "alice", to_queue_id="billing"), Conflict,
            "no agent of queue 'billing' is ready")  # fmt: skip
    desk.refuses(cmd.CancelConsult("c1", "alice"), Conflict, "no consult in progress")
    desk.do(cmd.MakeReady("bob"))
    desk.agent("carol")
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    desk.refuses(cmd.StartConsult("c1", "alice", to_agent_id="carol"), Conflict,
            "already has agent 'bob' in a consult")  # fmt: skip
    desk.refuses(cmd.CancelConsult("c1", "carol"), Conflict, "not in the consult")


def test_the_caller_hanging_up_during_a_consult_frees_the_consulted_agent(desk, event_names):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")
    connected(desk, talk=10)
    desk.agent("bob")
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    desk.now += timedelta(seconds=5)

    events = desk.do(cmd.HangUp("c1", by="caller"))

    assert event_names(events) == ["CallConsultEnded", "CallEnded", "AgentWrapUpStarted"]
    assert events[0].reason == "call_ended"
    assert (events[1].talk, events[1].hold) == (10, 5)
    assert desk.status("bob") == "ready" and desk.status("alice") == "wrap_up"
    desk.assert_replays()


# -- conference ---------------------------------------------------------------------------


def test_a_party_joins_and_leaves_the_agent_keeps_the_caller(desk, event_names):
    desk.queue()
    desk.agent("alice")
    connected(desk)
    desk.agent("carol")

    joined = desk.do(cmd.AddParty("c1", "alice", "carol"))
    assert event_names(joined) == ["CallConferenced"]
    assert desk.status("carol") == "on_call"
    desk.now += timedelta(seconds=30)
    left = desk.do(cmd.LeaveConference("c1", "carol"))

    assert event_names(left) == ["CallPartyLeft"] and left[0].talk == 30
    assert desk.status("carol") == "ready" and desk.state.calls["c1"].agent_id == "alice"
    desk.assert_replays()


def test_the_first_agent_leaving_the_conference_hands_the_caller_over(desk, event_names):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")
    connected(desk, talk=20)
    desk.agent("carol")
    desk.do(cmd.AddParty("c1", "alice", "carol"))
    desk.now += timedelta(seconds=10)

    left = desk.do(cmd.LeaveConference("c1", "alice"))

    assert event_names(left) == ["CallTransferred", "CallEnded", "CallAnswered",
                                 "AgentWrapUpStarted"]  # fmt: skip
    assert left[0].kind == "conference" and left[1].talk == 30
    assert desk.state.calls["c1"].agent_id == "carol" and desk.status("alice") == "wrap_up"
    desk.assert_replays()


def test_conference_refusals(desk):
    desk.queue()
    desk.agent("alice")
    desk.agent("bob", ready=False)
    desk.do(cmd.LogOut("bob"))
    connected(desk)
    desk.agent("carol")
    desk.agent("dan")

    desk.refuses(cmd.AddParty("c1", "alice", "bob"), Conflict, "agent 'bob' is logged out")
    desk.refuses(cmd.AddParty("c1", "alice", "zed"), NotFound, "'zed'")
    desk.refuses(cmd.LeaveConference("c1", "alice"), Conflict, "is not in a conference")
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.refuses(cmd.AddParty("c1", "alice", "carol"), Conflict, "on hold: resume it")
    desk.do(cmd.ResumeCall("c1", "alice"))
    desk.do(cmd.AddParty("c1", "alice", "carol"))
    desk.refuses(cmd.AddParty("c1", "alice", "dan"), Conflict, "already has agent 'carol'")
    desk.refuses(cmd.LeaveConference("c1", "dan"), Conflict, "not in the conference")
    desk.refuses(cmd.TransferCall("c1", "alice", to_queue_id="q1"), Conflict, "leave it first")


# -- wrap-up codes, not-ready reasons, time in state ------------------------------------------


def test_a_disposition_from_the_queues_list_with_notes_and_follow_up(desk, event_names):
    desk.queue(dispositions=["resolved", "escalated"], wrap_up_seconds=60)
    desk.agent("alice")
    connected(desk)
    desk.do(cmd.HangUp("c1", by="agent"))

    desk.refuses(cmd.Disposition("c1", "alice", "sold"), Invalid,
            "'sold' is not a code of queue 'q1'; its codes: resolved, escalated")  # fmt: skip
    events = desk.do(cmd.Disposition("c1", "alice", "escalated", "router reset", True))

    assert event_names(events) == ["CallDispositioned"]
    assert (events[0].queue_id, events[0].notes, events[0].follow_up) == (
        "q1",
        "router reset",
        True,
    )
    desk.refuses(cmd.Disposition("c1", "bob", "resolved"), NotFound, "'bob'")
    desk.do(cmd.FinishWrapUp("alice"))
    desk.refuses(cmd.Disposition("c1", "alice", "resolved"), Conflict, "not on call 'c1'")


def test_a_disposition_carries_the_customer_and_needs_no_list(desk):
    desk.queue()
    desk.agent("alice")
    desk.call("c1", customer_id="cust-7")
    desk.do(cmd.AnswerCall("c1", "alice"))

    events = desk.do(cmd.Disposition("c1", "alice", "anything_goes"))

    assert events[0].customer_id == "cust-7"


def test_not_ready_reasons_come_from_the_tenant_settings(desk):
    desk.queue()
    desk.agent("alice")

    desk.refuses(cmd.MakeNotReady("alice", "nap"), Invalid,
            "not-ready reason 'nap' is not allowed; allowed: break, lunch, training, "
            "after_call, outbound, meeting")  # fmt: skip
    desk.do(cmd.MakeNotReady("alice", "training"))
    desk.do(cmd.ConfigureSettings(TenantSettings(not_ready_reasons=["nap", "break"])))
    desk.refuses(cmd.MakeNotReady("alice", "lunch"), Invalid, "allowed: nap, break")
    desk.do(cmd.MakeNotReady("alice", "nap"))
    assert desk.state.agents["alice"].reason == "nap"
    desk.assert_replays()


def test_time_in_each_state_today(desk):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")  # logged in and ready at 09:00
    desk.now += timedelta(seconds=20)
    connected(desk, talk=100)
    desk.do(cmd.HangUp("c1", by="caller"))
    desk.wait(10)
    desk.do(cmd.MakeNotReady("alice", "lunch"))
    desk.now += timedelta(seconds=5)

    alice = desk.state.agents["alice"]
    assert alice.seconds_today(desk.now) == {
        "not_ready": 5.0, "offered": 0.0, "on_call": 100.0, "ready": 20.0, "wrap_up": 10.0
    }  # fmt: skip
    assert alice.since == desk.now - timedelta(seconds=5)
    tomorrow = desk.now.replace(hour=0, minute=0, second=30) + timedelta(days=1)
    assert alice.seconds_today(tomorrow) == {"not_ready": 30.0}
    desk.assert_replays()


def test_the_caller_hanging_up_while_a_transfer_rings_frees_everyone(desk, event_names):
    desk.queue(wrap_up_seconds=10)
    desk.agent("alice")
    connected(desk, talk=30)
    desk.agent("carol")
    desk.do(cmd.TransferCall("c1", "alice", to_agent_id="carol"))
    desk.now += timedelta(seconds=5)

    events = desk.do(cmd.HangUp("c1", by="caller"))

    assert event_names(events) == ["CallOfferCancelled", "CallAbandoned"]
    assert desk.status("carol") == "ready" and "c1" not in desk.state.calls
    desk.assert_replays()


def test_a_snapshot_written_before_call_handling_still_loads(desk):
    desk.queue()
    desk.agent("alice")
    connected(desk, talk=10)
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.do(cmd.ResumeCall("c1", "alice"))  # nothing left that format 1 could not say
    old = to_snapshot(desk.state)
    for key in ("queued_at", "answer_wait", "held_since", "hold_total", "muted",
                "party_agent_id", "party_kind", "party_since"):  # fmt: skip
        del old["calls"]["c1"][key]
    for key in ("last_call", "state_day", "state_seconds"):
        del old["agents"]["alice"][key]
    del old["settings"]

    loaded = from_snapshot(old)

    assert loaded.calls["c1"].queued_at == desk.state.calls["c1"].enqueued_at
    assert loaded.settings == TenantSettings()
    assert loaded.agents["alice"].status == "on_call"


def test_a_customer_reached_by_callback_is_transferred_as_a_live_caller(desk, event_names):
    desk.queue("q1", wrap_up_seconds=0)
    desk.queue("q2", skills={"billing": 1})
    desk.call("c1")
    desk.do(cmd.RequestCallback("c1", "+33612345678"))
    desk.agent("alice")
    desk.do(cmd.AnswerCall("c1", "alice"))  # alice dials; the customer answers

    events = desk.do(cmd.TransferCall("c1", "alice", to_queue_id="q2"))

    assert event_names(events)[:4] == [
        "CallbackCompleted", "CallTransferred", "CallEnded", "CallQueued"
    ]  # fmt: skip
    assert events[0].outcome == "connected" and events[3].callback_number is None
    assert desk.state.calls["c1"].callback_number is None
    desk.assert_replays()
