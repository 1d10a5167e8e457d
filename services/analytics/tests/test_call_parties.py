"""Every agent on a call is followed: the event sequences come from routing's own core
(its decider), so the fold reads what routing really publishes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.analytics.live import snapshot
from callcenter.events.catalogue import routing as ev
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.state import RoutingState


class Desk:
    """Routing's core driven by commands; every event also goes into the analytics log."""

    def __init__(self, log) -> None:
        self.log = log
        self.state = RoutingState()
        self.now = log.at(0)

    def do(self, command: cmd.Command) -> list:
        events = decide(command, self.state, self.now)
        for event in events:
            self.log.routing(event)
        return events

    def after(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def center(self, *agents: str, wrap: float = 10) -> None:
        self.do(cmd.ConfigureQueue("q1", QueueConfig(skills={"general": 1},
                                                     wrap_up_seconds=wrap)))  # fmt: skip
        self.do(cmd.ConfigureQueue("q2", QueueConfig(skills={"general": 1},
                                                     wrap_up_seconds=wrap)))  # fmt: skip
        for agent_id in agents:
            self.do(cmd.ConfigureAgent(agent_id, AgentConfig(skills={"general": 5})))
            self.do(cmd.LogIn(agent_id))

    def ready(self, agent_id: str) -> None:
        self.do(cmd.MakeReady(agent_id))

    def answered(self, call_id: str, agent_id: str, wait: float = 4, queue_id="q1") -> None:
        self.do(cmd.EnqueueCall(call_id, queue_id))
        self.after(wait)
        self.do(cmd.AnswerCall(call_id, agent_id))


def rows(log, by: str) -> dict[str, dict]:
    fold = log.fold()
    now = fold.latest + 3600
    found = compute(fold.tenants["acme"], KpiSettings(), Window(0, now, now), "all", by)
    key = {"agent": "agent_id", "queue": "queue_id", "tenant": None}[by]
    return {row[key] if key else "": row for row in found}


def names(events) -> list[str]:
    return [type(event).__name__ for event in events]


@pytest.fixture
def desk(log) -> Desk:
    return Desk(log)


def test_a_consult_transfer_splits_the_call_between_both_agents(desk, log):
    """Alice talks 60 s, holds the caller 30 s while consulting Bob, hands over; Bob
    talks 90 s. Alice's AHT holds her talk, her hold and her wrap-up; the transfer is
    hers; the consult counts in Bob's handling time; the queue sees one call."""
    desk.center("alice", "bob")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.after(60)
    desk.ready("bob")
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    desk.after(30)
    handed = desk.do(cmd.CompleteConsult("c1", "alice"))
    assert names(handed)[:3] == ["CallResumed", "CallTransferred", "CallEnded"]
    desk.after(10)
    desk.do(cmd.FinishWrapUp("alice"))
    desk.after(80)
    desk.do(cmd.HangUp("c1"))
    desk.after(10)
    desk.do(cmd.FinishWrapUp("bob"))

    agents = rows(log, "agent")
    alice, bob = agents["alice"], agents["bob"]
    assert (alice["answered"], alice["handled"], alice["transferred"]) == (1, 1, 1)
    assert (alice["talk"], alice["hold"], alice["wrap"]) == (60, 30, 10)
    assert alice["aht_seconds"] == 100 and alice["transfer_rate"] == 1.0
    assert (bob["answered"], bob["transferred"], bob["transfer_rate"]) == (1, 0, 0.0)
    assert (bob["talk"], bob["hold"], bob["wrap"]) == (90, 0, 10)
    assert bob["consults"] == 1
    # Bob was busy from the consult on: 30 s consulting, 90 s talking, 10 s wrap-up.
    assert bob["assist_seconds"] == 30
    assert bob["handling_seconds"] == 30 + 90 + 10
    [queue] = rows(log, "queue").values()
    assert (queue["offered"], queue["answered"], queue["handled"], queue["transferred"]) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert queue["aht_seconds"] == 60 + 30 + 10 + 90 + 10
    assert queue["asa_seconds"] == 4  # the caller's wait, not the hand-over


def test_a_cancelled_consult_is_the_consulted_agents_occupancy_not_their_call(desk, log):
    desk.center("alice", "bob")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.ready("bob")
    desk.after(20)
    desk.do(cmd.StartConsult("c1", "alice", to_agent_id="bob"))
    desk.after(45)
    desk.do(cmd.CancelConsult("c1", "alice"))
    desk.after(15)
    desk.do(cmd.HangUp("c1"))
    desk.after(10)
    desk.do(cmd.FinishWrapUp("alice"))

    agents = rows(log, "agent")
    alice, bob = agents["alice"], agents["bob"]
    assert (alice["answered"], alice["transferred"], alice["hold"]) == (1, 0, 45)
    assert alice["aht_seconds"] == 20 + 45 + 15 + 10
    assert bob["answered"] == 0 and bob["aht_seconds"] is None
    assert bob["assist_seconds"] == 45 and bob["handling_seconds"] == 45
    # Bob: ready 20 s before the consult, then ready again from its end to the last
    # event (25 s) and an hour more (the window ends an hour after it).
    assert bob["available_seconds"] == 20 + 25 + 3600
    assert rows(log, "queue")["q1"]["transfer_rate"] == 0.0


def test_a_conference_party_counts_their_time_until_they_leave(desk, log):
    desk.center("alice", "bob")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.ready("bob")
    desk.after(30)
    conferenced = desk.do(cmd.AddParty("c1", "alice", "bob"))
    assert names(conferenced) == ["CallConferenced"]
    desk.after(50)
    assert names(desk.do(cmd.LeaveConference("c1", "bob")))[0] == "CallPartyLeft"
    desk.after(20)
    desk.do(cmd.HangUp("c1"))

    agents = rows(log, "agent")
    assert agents["bob"]["conferences"] == 1 and agents["bob"]["assist_seconds"] == 50
    assert agents["alice"]["talk"] == 100 and agents["alice"]["transferred"] == 0


def test_a_blind_transfer_counts_for_the_first_agent_and_keeps_the_callers_wait(desk, log):
    desk.center("alice", "bob", "carol")
    desk.ready("alice")
    desk.answered("c1", "alice", wait=7)
    desk.ready("bob")
    desk.after(40)
    desk.do(cmd.HoldCall("c1", "alice"))
    desk.after(20)
    desk.do(cmd.ResumeCall("c1", "alice"))
    desk.do(cmd.TransferCall("c1", "alice", to_agent_id="bob"))
    desk.after(3)
    desk.do(cmd.AnswerCall("c1", "bob"))
    desk.after(100)
    desk.do(cmd.HangUp("c1"))
    # A second call, to queue q2, that Alice transfers to queue q1 where Carol takes it.
    desk.do(cmd.FinishWrapUp("alice"))
    desk.answered("c2", "alice", wait=2, queue_id="q2")
    desk.after(30)
    desk.ready("carol")
    desk.do(cmd.TransferCall("c2", "alice", to_queue_id="q1"))
    desk.after(5)
    desk.do(cmd.AnswerCall("c2", "carol"))
    desk.after(60)
    desk.do(cmd.HangUp("c2"))

    agents = rows(log, "agent")
    alice = agents["alice"]
    assert (alice["answered"], alice["transferred"], alice["transfer_rate"]) == (2, 2, 1.0)
    assert (alice["talk"], alice["hold"]) == (40 + 30, 20)
    assert agents["bob"]["transfer_rate"] == 0.0 and agents["bob"]["talk"] == 100
    assert agents["carol"]["answered"] == 1
    queues = rows(log, "queue")
    assert queues["q1"]["offered"] == 2 and queues["q1"]["transferred"] == 1
    assert queues["q1"]["transfer_rate"] == 0.5
    assert queues["q1"]["asa_seconds"] == (7 + 5) / 2  # c1 keeps its first wait
    assert queues["q2"]["transfer_rate"] == 1.0
    [tenant] = rows(log, "tenant").values()
    assert tenant["transferred"] == 2 and tenant["answered"] == 3


def test_supervisors_on_calls_show_live_and_add_up(desk, log):
    desk.center("alice")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.after(10)
    log.routing(ev.SupervisorJoined(at=desk.now, call_id="c1", agent_id="alice",
                                    supervisor_id="sue", mode="monitor"))  # fmt: skip
    desk.after(20)
    log.routing(ev.SupervisorJoined(at=desk.now, call_id="c1", agent_id="alice",
                                    supervisor_id="sue", mode="whisper"))  # fmt: skip
    fold = log.fold()
    now = fold.latest + 5
    [badge] = snapshot(fold.tenants["acme"], KpiSettings(), now)["supervised"]
    assert badge | {"seconds": None} == {
        "agent_id": "alice", "name": "alice", "supervisor_id": "sue", "mode": "whisper",
        "call_id": "c1", "seconds": None,
    }  # fmt: skip
    assert badge["seconds"] == 25
    desk.after(30)
    log.routing(ev.SupervisorLeft(at=desk.now, call_id="c1", agent_id="alice",
                                  supervisor_id="sue", duration=50))  # fmt: skip
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []
    now = fold.latest + 1
    [row] = compute(fold.tenants["acme"], KpiSettings(), Window(0, now, now), "all", "supervisor")
    assert row == {"supervisor_id": "sue", "supervisions": 1, "supervised_seconds": 50}
    assert rows(log, "agent")["alice"]["supervised_seconds"] == 50


def test_a_call_ending_takes_its_supervisors_off_the_wallboard(desk, log):
    desk.center("alice")
    desk.ready("alice")
    desk.answered("c1", "alice")
    log.routing(ev.SupervisorJoined(at=desk.now, call_id="c1", agent_id="alice",
                                    supervisor_id="sue", mode="barge"))  # fmt: skip
    desk.after(12)
    desk.do(cmd.HangUp("c1"))
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []
    assert rows(log, "tenant")[""]["supervised_seconds"] == 12
