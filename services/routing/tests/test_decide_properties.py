"""Invariants of the ACD core under random traffic (hypothesis).

Every example drives a small contact center with random commands (calls, agent
states, and call handling: hold, resume, mute, transfers, consults, conferences)
and time steps, and after each one checks: no call is offered to two agents
(outside ring-all), a connected call is with exactly its agent (and the one agent
it consults or conferences), no agent holds two calls, no ready agent idles while
a call it may take waits, a refused command changes nothing, and replaying the
log (through JSON, as it is stored) rebuilds the state byte for byte.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.events.catalogue import registry
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig, OverflowStep, QueueConfig
from callcenter.routing.domain.decide import _Decision
from callcenter.routing.domain.errors import RoutingError
from callcenter.routing.domain.snapshot import from_snapshot, snapshot_bytes, to_snapshot
from callcenter.routing.domain.state import RoutingState, evolve

AGENTS = [f"a{n}" for n in range(6)]
STRATEGIES = ["longest_idle", "round_robin", "fewest_calls", "least_talk_time", "linear",
              "random", "best_skill"]  # fmt: skip
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def world(strategy: str) -> list[cmd.Command]:
    return [
        cmd.ConfigureQueue("general", QueueConfig(
            skills={"general": 1}, strategy=strategy, ring_timeout_seconds=10,
            wrap_up_seconds=5, max_consecutive_misses=2, preferred_agent_seconds=15,
        )),
        cmd.ConfigureQueue("billing", QueueConfig(
            skills={"billing": 6}, strategy=strategy, ring_timeout_seconds=10, wrap_up_seconds=5,
            overflow=[OverflowStep(after_seconds=20, lower_levels_by=3),
                      OverflowStep(after_seconds=40, add_queues=["general"])],
        )),
    ]  # fmt: skip


def agent_commands(levels: list[tuple[int, int]]) -> list[cmd.Command]:
    commands: list[cmd.Command] = []
    for agent_id, (general, billing) in zip(AGENTS, levels, strict=True):
        skills = {"general": general} | ({"billing": billing} if billing else {})
        commands.append(cmd.ConfigureAgent(agent_id, AgentConfig(skills=skills, rank=general)))
    return commands


TRAFFIC = ["wait", "wait", "login", "ready", "not_ready", "logout", "call", "call", "answer",
           "answer", "reject", "hangup", "hangup", "callback", "finish_wrap", "answer_anything",
           "identify", "handle", "handle", "handle"]  # fmt: skip
# Fewer callers, more done with each: consults and conferences need a free agent.
HANDLING = ["wait", "ready", "ready", "call", "answer", "hangup", "finish_wrap", "handle",
            "handle", "handle", "handle", "handle", "handle"]  # fmt: skip


def next_command(
    data: st.DataObject, state: RoutingState, n: int, kinds: list[str] = TRAFFIC
) -> cmd.Command | float:
    offers = [(c.id, a) for c in state.calls.values() for a in sorted(c.offers)]
    connected = [c.id for c in state.calls.values() if c.status == "connected"]
    known_calls = [*sorted(state.calls), "missing"]
    kind = data.draw(st.sampled_from(kinds))
    agent = data.draw(st.sampled_from(AGENTS))
    if kind == "handle":
        if not connected:  # bring a caller to an agent first
            if offers:
                return cmd.AnswerCall(*data.draw(st.sampled_from(offers)))
            return (
                cmd.MakeReady(agent)
                if state.agents[agent].status != "logged_out"
                else cmd.LogIn(agent)
            )
        return handling_command(data, state, agent, connected)
    if kind == "wait":
        return data.draw(st.sampled_from([1.0, 3.0, 10.0, 25.0]))
    if kind == "login":
        return cmd.LogIn(agent)
    if kind == "ready":
        return cmd.MakeReady(agent)
    if kind == "not_ready":
        return cmd.MakeNotReady(agent, data.draw(st.sampled_from(["break", "lunch"])))
    if kind == "logout":
        return cmd.LogOut(agent)
    if kind == "call":
        return cmd.EnqueueCall(
            f"c{n}",
            data.draw(st.sampled_from(["general", "billing"])),
            priority=data.draw(st.integers(0, 3)),
            preferred_agent_id=data.draw(st.sampled_from([None, None, agent])),
            customer_id=data.draw(st.sampled_from([None, "cust-1", "cust-2"])),
        )
    if kind == "answer" and offers:
        return cmd.AnswerCall(*data.draw(st.sampled_from(offers)))
    if kind == "reject" and offers:
        return cmd.RejectCall(*data.draw(st.sampled_from(offers)))
    if kind == "hangup":
        pool = connected if connected and data.draw(st.booleans()) else known_calls
        return cmd.HangUp(
            data.draw(st.sampled_from(pool)),
            by=data.draw(st.sampled_from(["caller", "agent"])),
            outcome=data.draw(st.sampled_from(["connected", "no_answer"])),
        )
    if kind == "identify":
        call_id = data.draw(st.sampled_from([*known_calls, f"c{n + 1}"]))
        return cmd.IdentifyCustomer(call_id, data.draw(st.sampled_from(["cust-1", "cust-2"])))
    if kind == "callback":
        return cmd.RequestCallback(data.draw(st.sampled_from(known_calls)), "+33612345678")
    if kind == "finish_wrap":
        return cmd.FinishWrapUp(agent)
    return cmd.AnswerCall(data.draw(st.sampled_from(known_calls)), agent)  # mostly refused


def handling_command(
    data: st.DataObject, state: RoutingState, agent: str, calls: list[str]
) -> cmd.Command:
    """Mostly what the agent holding a call may do with it; sometimes not theirs."""
    call_id = data.draw(st.sampled_from(calls))
    call = state.calls.get(call_id)
    mine = data.draw(st.sampled_from([True, True, True, False]))
    holder = call.agent_id if call and call.agent_id and mine else agent
    party = call.party_agent_id if call and call.party_agent_id else agent
    ready = sorted(state.ready)
    other = data.draw(st.sampled_from(ready if ready and mine else AGENTS))
    action = data.draw(st.sampled_from(
        ["hold", "resume", "resume", "mute", "to_queue", "to_agent", "external", "consult",
         "consult_queue", "complete", "cancel", "hang_up_consult", "conference", "leave",
         "party_leaves", "disposition"]
    ))  # fmt: skip
    if action == "hold":
        return cmd.HoldCall(call_id, holder)
    if action == "resume":
        return cmd.ResumeCall(call_id, holder)
    if action == "mute":
        return cmd.MuteCall(call_id, holder, muted=data.draw(st.booleans()))
    if action == "to_queue":
        queue = data.draw(st.sampled_from(["general", "billing"]))
        return cmd.TransferCall(call_id, holder, to_queue_id=queue)
    if action == "to_agent":
        return cmd.TransferCall(call_id, holder, to_agent_id=other)
    if action == "external":
        return cmd.TransferCall(call_id, holder, to_number="+33140000000")
    if action == "consult":
        return cmd.StartConsult(call_id, holder, to_agent_id=other)
    if action == "consult_queue":
        return cmd.StartConsult(call_id, holder, to_queue_id="billing")
    if action == "complete":
        return cmd.CompleteConsult(call_id, holder)
    if action == "cancel":
        return cmd.CancelConsult(call_id, holder)
    if action == "hang_up_consult":
        return cmd.CancelConsult(call_id, party)
    if action == "conference":
        return cmd.AddParty(call_id, holder, other)
    if action == "leave":
        return cmd.LeaveConference(call_id, holder)
    if action == "party_leaves":
        return cmd.LeaveConference(call_id, party)
    return cmd.Disposition(call_id, holder, "resolved")


def check_invariants(state: RoutingState, now) -> None:
    for call in state.calls.values():
        assert len(call.offers) <= 1, f"{call.id} offered to {sorted(call.offers)}"
        if call.status == "connected":
            holders = [
                a for a in state.agents.values() if a.status == "on_call" and a.call_id == call.id
            ]
            with_call = sorted(filter(None, [call.agent_id, call.party_agent_id]))
            assert sorted(a.id for a in holders) == with_call
            assert call.party_agent_id != call.agent_id
        else:
            assert call.party_agent_id is None and call.held_since is None
    for agent in state.agents.values():
        if agent.status == "offered":
            assert agent.id in state.calls[agent.call_id].offers
        if agent.status == "on_call":  # so no agent is on two calls
            call = state.calls[agent.call_id]
            assert agent.id in (call.agent_id, call.party_agent_id)
    decision = _Decision(state, now)
    for call in state.calls.values():
        if call.status != "waiting" or (call.not_before and now < call.not_before):
            continue
        idle = decision.pool(call, state.queues[call.queue_id])
        assert not idle, f"{[a.id for a in idle]} idle while {call.id} waits"


def replayed(log) -> RoutingState:
    fresh = RoutingState()
    for event in log:
        stored = registry.model(event.event_type).model_validate_json(event.model_dump_json())
        evolve(fresh, stored)
    return fresh


@PROPERTY
@given(
    strategy=st.sampled_from(STRATEGIES),
    levels=st.lists(st.tuples(st.integers(1, 10), st.integers(0, 10)), min_size=6, max_size=6),
    data=st.data(),
)
def test_invariants_hold_under_random_traffic(desk_factory, strategy, levels, data):
    drive(desk_factory(), strategy, levels, data, TRAFFIC)


@PROPERTY
@given(
    levels=st.lists(st.tuples(st.integers(1, 10), st.integers(0, 10)), min_size=6, max_size=6),
    data=st.data(),
)
def test_invariants_hold_while_agents_hold_transfer_consult_and_conference(
    desk_factory, levels, data
):
    drive(desk_factory(), "longest_idle", levels, data, HANDLING)


def drive(desk, strategy: str, levels, data: st.DataObject, kinds: list[str]) -> None:
    for command in world(strategy) + agent_commands(levels):
        desk.do(command)
    for n in range(80):
        step = next_command(data, desk.state, n, kinds)
        if isinstance(step, float):
            desk.now += timedelta(seconds=step)
            desk.do(cmd.Tick())
        else:
            before = snapshot_bytes(desk.state)
            try:
                desk.do(step)
            except RoutingError:
                assert snapshot_bytes(desk.state) == before, f"refused {step} changed the state"
        check_invariants(desk.state, desk.now)

    assert snapshot_bytes(replayed(desk.log)) == snapshot_bytes(desk.state)
    assert snapshot_bytes(from_snapshot(to_snapshot(desk.state))) == snapshot_bytes(desk.state)


@PROPERTY
@given(
    arrivals=st.lists(st.tuples(st.floats(0, 40), st.integers(0, 3)), min_size=5, max_size=40),
    handle=st.floats(5, 60),
)
def test_aging_serves_callers_in_score_order_so_none_waits_forever(desk_factory, arrivals, handle):
    desk = desk_factory()
    desk.do(
        cmd.ConfigureQueue("q", QueueConfig(skills={}, wrap_up_seconds=0, priority_step_seconds=60))
    )
    desk.do(cmd.ConfigureAgent("solo", AgentConfig()))
    desk.do(cmd.LogIn("solo"))
    desk.do(cmd.MakeReady("solo"))
    served: list[str] = []
    for n, (gap, priority) in enumerate(arrivals):
        desk.now += timedelta(seconds=gap)
        desk.do(cmd.EnqueueCall(f"c{n}", "q", priority=priority))
        _serve_due(desk, served, handle)
    while desk.state.calls:
        desk.now += timedelta(seconds=handle)
        _serve_due(desk, served, handle)

    assert sorted(served) == sorted(f"c{n}" for n in range(len(arrivals)))


def _serve_due(desk, served: list[str], handle: float) -> None:
    """Answer what is offered (checking it is the best-scored waiting call); end calls due."""
    state = desk.state
    for call in list(state.calls.values()):
        if call.status == "connected" and desk.now - call.answered_at >= timedelta(seconds=handle):
            desk.do(cmd.HangUp(call.id, by="caller"))
    for call in list(state.calls.values()):
        if call.offers:
            waiting = [c for c in state.calls.values() if c.status in ("waiting", "offered")]
            assert call.sort_key == min(c.sort_key for c in waiting), "a better-scored caller waits"
            desk.do(cmd.AnswerCall(call.id, "solo"))
            served.append(call.id)
