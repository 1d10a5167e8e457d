"""Every agent on a call is followed: the event sequences come from routing's own core
(its decider), so the fold reads what routing really publishes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.analytics.kpis import KpiSettings, Window, compute
from callcenter.analytics.live import snapshot
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, QueueConfig
from callcenter.routing.domain.decide import decide
from callcenter.routing.domain.errors import RoutingError
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
    assert bob["occupancy"] == round(45 / (45 + 20 + 25 + 3600), 4)
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
    desk.do(cmd.Supervise("c1", "sue", "monitor"))
    desk.after(20)
    desk.do(cmd.Supervise("c1", "sue", "whisper"))  # the same supervisor, another mode
    fold = log.fold()
    now = fold.latest + 5
    [badge] = snapshot(fold.tenants["acme"], KpiSettings(), now)["supervised"]
    assert badge == {
        "agent_id": "alice", "name": "alice", "supervisor_id": "sue", "mode": "whisper",
        "call_id": "c1", "seconds": 5,  # in the current mode
    }  # fmt: skip
    desk.after(30)
    assert names(desk.do(cmd.StopSupervising("c1", "sue"))) == ["SupervisorLeft"]
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []
    now = fold.latest + 1
    [row] = compute(fold.tenants["acme"], KpiSettings(), Window(0, now, now), "all", "supervisor")
    # Two spans (monitor 20 s, then whisper 30 s): 50 s in all.
    assert row == {"supervisor_id": "sue", "supervisions": 2, "supervised_seconds": 50}
    assert rows(log, "agent")["alice"]["supervised_seconds"] == 50
    assert rows(log, "queue")["q1"]["supervisions"] == 2


def test_a_call_ending_takes_its_supervisors_off_the_wallboard(desk, log):
    desk.center("alice")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.do(cmd.Supervise("c1", "sue", "barge"))
    desk.after(12)
    desk.do(cmd.HangUp("c1"))
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []
    assert rows(log, "tenant")[""]["supervised_seconds"] == 12


def test_a_supervisor_who_takes_over_handles_the_rest_of_the_call(desk, log):
    """A takeover is not a transfer: Alice's part ends (her AHT has it), the supervisor,
    an agent of routing too, answers the rest as their own part."""
    desk.center("alice", "sue")
    desk.ready("alice")
    desk.answered("c1", "alice")
    desk.after(40)
    taken = desk.do(cmd.Supervise("c1", "sue", "takeover"))
    assert "CallAnswered" in names(taken)
    desk.after(10)
    desk.do(cmd.FinishWrapUp("alice"))
    desk.after(50)
    desk.do(cmd.HangUp("c1"))
    agents = rows(log, "agent")
    alice, sue = agents["alice"], agents["sue"]
    assert (alice["answered"], alice["transferred"], alice["talk"], alice["wrap"]) == (1, 0, 40, 10)
    assert (sue["answered"], sue["talk"]) == (1, 60)
    assert alice["supervisions"] == 1
    queue = rows(log, "queue")["q1"]
    assert (queue["answered"], queue["transferred"], queue["talk"]) == (1, 0, 100)
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []


AGENTS = ("a", "b", "c")


def act(desk: Desk, choice: int, call: str, agent: str, other: str) -> None:
    """One of the things that happen on a floor, done by whoever can (the agent the call
    is offered to answers, the agent holding it passes it on); refused ones change nothing."""
    found = desk.state.calls.get(call)
    offered = sorted(found.offers) if found else []
    holder = (found.agent_id if found else None) or agent
    party = (found.party_agent_id if found else None) or agent
    either = holder if agent < other else party
    actions = [
        lambda: desk.do(cmd.EnqueueCall(call, "q1" if other < agent else "q2")),
        lambda: desk.do(cmd.AnswerCall(call, offered[0] if offered else agent)),
        lambda: desk.do(cmd.HoldCall(call, holder)),
        lambda: desk.do(cmd.ResumeCall(call, holder)),
        lambda: desk.do(cmd.TransferCall(call, holder, to_agent_id=other)),
        lambda: desk.do(cmd.TransferCall(call, holder, to_queue_id="q1")),
        lambda: desk.do(cmd.StartConsult(call, holder, to_agent_id=other)),
        lambda: desk.do(cmd.CompleteConsult(call, holder)),
        lambda: desk.do(cmd.CancelConsult(call, either)),
        lambda: desk.do(cmd.AddParty(call, holder, other)),
        lambda: desk.do(cmd.LeaveConference(call, either)),
        lambda: desk.do(cmd.Supervise(call, "sue", "monitor" if agent < other else "barge")),
        lambda: desk.do(cmd.HangUp(call)),
        lambda: desk.do(cmd.FinishWrapUp(agent)),
        lambda: desk.do(cmd.MakeReady(agent)),
    ]
    try:
        actions[choice if choice < len(actions) else 1]()  # answering is the most common
    except RoutingError:
        pass
    desk.do(cmd.Tick())  # offers and wrap-ups time out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(steps=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 2), st.integers(0, 2),
                                st.integers(0, 2), st.integers(0, 8)),
                      min_size=5, max_size=60))  # fmt: skip
def test_every_second_of_handling_is_one_queues_and_one_agents(log_factory, steps):
    """Whatever the agents do (transfers, consults, conferences, holds, supervisors), the
    queues' talk, hold and wrap-up add up to the agents' own parts, each transfer counts
    for the agent who made it, and no agent is more than fully occupied."""
    log = log_factory()
    desk = Desk(log)
    desk.center(*AGENTS, wrap=5)
    for agent in AGENTS:
        desk.ready(agent)
    for choice, call, agent, other, seconds in steps:
        act(desk, choice, f"c{call}", AGENTS[agent], AGENTS[other])
        desk.after(seconds)
    for call in range(3):  # every call over, every wrap-up done
        act(desk, 12, f"c{call}", "a", "a")
    for agent in AGENTS:
        act(desk, 13, "", agent, agent)
    by_queue, by_agent = rows(log, "queue").values(), rows(log, "agent").values()
    for part in ("talk", "hold", "wrap", "transferred"):
        queues, agents = sum(r[part] for r in by_queue), sum(r[part] for r in by_agent)
        assert round(queues, 6) == round(agents, 6), part
    transfers = sum(1 for e in log.envelopes if e.type == "CallTransferred")
    assert sum(r["transferred"] for r in by_agent) == transfers
    assert sum(r["answered"] for r in by_agent) >= sum(r["answered"] for r in by_queue)
    for row in by_agent:
        assert 0 <= (row["occupancy"] or 0) <= 1
        assert row["assist_seconds"] <= row["handling_seconds"]
    fold = log.fold()
    assert snapshot(fold.tenants["acme"], KpiSettings(), fold.latest)["supervised"] == []


def test_a_callback_counts_as_one_requested_not_as_an_answer_when_the_agent_dials(desk, log):
    """Bob waits 30 s, takes the callback and hangs up. Alice dials him: no answer; routing
    dials again after its retry delay and he picks up. His visit ended with the request
    (out of the service level); the second dial is the callback connected."""
    desk.center("alice")
    desk.do(cmd.EnqueueCall("c1", "q1"))
    desk.after(30)
    desk.do(cmd.RequestCallback("c1", "+33612345678"))
    desk.do(cmd.HangUp("c1", by="caller"))
    desk.after(10)
    desk.ready("alice")
    desk.do(cmd.AnswerCall("c1", "alice"))
    desk.after(20)
    desk.do(cmd.HangUp("c1", by="agent", outcome="no_answer"))
    desk.do(cmd.FinishWrapUp("alice"))
    desk.after(300)  # the queue's callback retry delay
    desk.do(cmd.Tick())
    desk.do(cmd.AnswerCall("c1", "alice"))
    desk.after(60)
    desk.do(cmd.HangUp("c1", by="agent"))

    [queue] = rows(log, "queue").values()
    assert (queue["offered"], queue["callbacks_requested"]) == (1, 1)
    assert (queue["answered"], queue["abandoned"], queue["service_level"]) == (0, 0, None)
    [tenant] = rows(log, "tenant").values()
    assert (tenant["callbacks_requested"], tenant["callbacks_connected"]) == (1, 1)
    assert tenant["answered"] == 0
