"""Supervisors on live calls in the ACD core: monitor, whisper, barge, take over, leave."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.decide import call_view
from callcenter.routing.domain.errors import Conflict, NotFound


def connected(desk, call_id: str = "c1", agent: str = "alice", talk: float = 0) -> None:
    desk.call(call_id)
    assert desk.offered_to(call_id) == [agent]
    desk.do(cmd.AnswerCall(call_id, agent))
    desk.now += timedelta(seconds=talk)


@pytest.fixture
def on_call(desk):
    desk.queue(wrap_up_seconds=30)
    desk.agent("alice")
    connected(desk, talk=10)
    return desk


@pytest.mark.parametrize("mode", ["monitor", "whisper", "barge"])
def test_a_supervisor_joins_and_leaves_a_live_call(on_call, event_names, mode):
    desk = on_call
    joined = desk.do(cmd.Supervise("c1", "sam", mode))
    assert event_names(joined) == ["SupervisorJoined"]
    assert (joined[0].agent_id, joined[0].supervisor_id, joined[0].mode) == ("alice", "sam", mode)
    view = call_view(desk.state, desk.state.calls["c1"], desk.now)
    assert [(s["supervisor_id"], s["mode"]) for s in view["supervisors"]] == [("sam", mode)]

    desk.now += timedelta(seconds=42)
    left = desk.do(cmd.StopSupervising("c1", "sam"))
    assert event_names(left) == ["SupervisorLeft"] and left[0].duration == 42
    assert desk.state.calls["c1"].supervisors == {}
    assert desk.status("alice") == "on_call"  # the call goes on
    desk.assert_replays()


def test_a_supervisor_switches_from_monitor_to_whisper(on_call, event_names):
    desk = on_call
    desk.do(cmd.Supervise("c1", "sam", "monitor"))
    desk.refuses(cmd.Supervise("c1", "sam", "monitor"), Conflict, "already in monitor")
    switched = desk.do(cmd.Supervise("c1", "sam", "whisper"))
    assert event_names(switched) == ["SupervisorJoined"]
    assert desk.state.calls["c1"].supervisors["sam"][0] == "whisper"


def test_the_call_ending_makes_the_supervisors_leave_first(on_call, event_names):
    desk = on_call
    desk.do(cmd.Supervise("c1", "sam", "monitor"))
    desk.do(cmd.Supervise("c1", "sue", "barge"))
    desk.now += timedelta(seconds=5)
    ended = desk.do(cmd.HangUp("c1", by="caller"))
    assert event_names(ended) == [
        "SupervisorLeft",
        "SupervisorLeft",
        "CallEnded",
        "AgentWrapUpStarted",
    ]
    assert [e.supervisor_id for e in ended[:2]] == ["sam", "sue"]
    desk.assert_replays()


def test_a_takeover_makes_the_supervisor_the_agent_and_the_agent_wraps_up(on_call, event_names):
    desk = on_call
    desk.agent("sam", ready=False)  # a supervisor who takes calls is an agent too
    desk.do(cmd.Supervise("c1", "sam", "monitor"))
    desk.do(cmd.Supervise("c1", "sue", "monitor"))
    desk.now += timedelta(seconds=20)

    taken = desk.do(cmd.Supervise("c1", "sam", "takeover"))

    assert event_names(taken) == [
        "SupervisorLeft",  # sue listened to alice's part
        "SupervisorJoined",
        "CallEnded",
        "CallAnswered",
        "AgentWrapUpStarted",
    ]
    ended = taken[2]
    assert (ended.agent_id, ended.transferred, ended.talk) == ("alice", True, 30)
    assert taken[3].agent_id == "sam"
    call = desk.state.calls["c1"]
    assert (call.agent_id, call.supervisors) == ("sam", {})
    assert (desk.status("sam"), desk.status("alice")) == ("on_call", "wrap_up")
    # alice may still record what she handled; sam ends the call.
    desk.do(cmd.Disposition("c1", "alice", "resolved"))
    assert event_names(desk.do(cmd.HangUp("c1", by="agent"))) == [
        "CallEnded",
        "AgentWrapUpStarted",
    ]
    desk.assert_replays()


def test_supervisor_refusals_change_nothing(on_call):
    desk = on_call
    desk.agent("bob", ready=False)
    desk.call("c2")  # waits: nobody is ready
    desk.refuses(cmd.Supervise("c2", "sam", "monitor"), Conflict, "not connected")
    desk.refuses(cmd.Supervise("c9", "sam", "monitor"), NotFound, "call 'c9'")
    desk.refuses(cmd.Supervise("c1", "alice", "barge"), Conflict, "as its agent")
    desk.refuses(cmd.StopSupervising("c1", "sam"), Conflict, "not on call")
    desk.refuses(cmd.Supervise("c1", "sam", "takeover"), Conflict, "not an agent of routing")
    desk.do(cmd.LogOut("bob"))
    desk.refuses(cmd.Supervise("c1", "bob", "takeover"), Conflict, "logged out")
    desk.do(cmd.LogIn("bob"))
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.refuses(cmd.Supervise("c1", "bob", "takeover"), Conflict, "on hold")
