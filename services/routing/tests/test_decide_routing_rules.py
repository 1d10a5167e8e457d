"""Strategies, skills and levels, tiered overflow, aging, preferred agents, hours."""

from datetime import date

import pytest

from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import BusinessHours, OverflowStep


def four_agents(desk, **queue):
    desk.queue(**queue)
    for n, name in enumerate(["ann", "ben", "cat", "dan"]):
        desk.agent(name, skills={"general": 2 + n}, rank=4 - n)
        desk.wait(1)


def serve_and_free(desk, call_id):
    [agent] = desk.offered_to(call_id)
    desk.do(cmd.AnswerCall(call_id, agent))
    desk.do(cmd.HangUp(call_id, by="caller"))
    return agent


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("longest_idle", ["ann", "ben", "cat", "dan", "ann"]),
        ("round_robin", ["ann", "ben", "cat", "dan", "ann"]),
        ("linear", ["dan", "dan", "dan", "dan", "dan"]),
        ("best_skill", ["dan", "dan", "dan", "dan", "dan"]),
        ("fewest_calls", ["ann", "ben", "cat", "dan", "ann"]),
        ("least_talk_time", ["ann", "ben", "cat", "dan", "ann"]),
    ],
)
def test_each_strategy_picks_its_agent(desk, strategy, expected):
    four_agents(desk, strategy=strategy, wrap_up_seconds=0)

    chosen = []
    for n in range(5):
        desk.call(f"c{n}")
        chosen.append(serve_and_free(desk, f"c{n}"))
        desk.wait(1)

    assert chosen == expected


def test_random_is_seeded_so_replay_draws_the_same_agents(desk):
    four_agents(desk, strategy="random", wrap_up_seconds=0, random_seed=7)
    first = []
    for n in range(6):
        desk.call(f"c{n}")
        first.append(serve_and_free(desk, f"c{n}"))

    again = type(desk)()
    four_agents(again, strategy="random", wrap_up_seconds=0, random_seed=7)
    second = []
    for n in range(6):
        again.call(f"c{n}")
        second.append(serve_and_free(again, f"c{n}"))

    assert first == second
    assert len(set(first)) > 1


def test_ring_all_rings_everyone_and_the_first_answer_wins(desk, event_names):
    four_agents(desk, strategy="ring_all")
    desk.call("c1")
    assert desk.offered_to("c1") == ["ann", "ben", "cat", "dan"]

    events = desk.do(cmd.AnswerCall("c1", "cat"))

    assert event_names(events) == ["CallAnswered"] + ["CallOfferCancelled"] * 3
    assert {e.reason for e in events[1:]} == {"answered_elsewhere"}
    assert [desk.status(a) for a in ["ann", "ben", "cat", "dan"]] == [
        "ready", "ready", "on_call", "ready",
    ]  # fmt: skip


def test_skills_and_levels_decide_who_may_take_a_call(desk):
    desk.queue("billing", skills={"billing": 3, "french": 1})
    desk.agent("low", skills={"billing": 2, "french": 5})
    desk.agent("mono", skills={"billing": 9})
    desk.agent("fit", skills={"billing": 3, "french": 1})

    desk.call("c1", "billing")

    assert desk.offered_to("c1") == ["fit"]


def test_a_call_can_ask_more_than_its_queue(desk):
    desk.queue("support", skills={"support": 1})
    desk.agent("junior", skills={"support": 2})
    desk.agent("senior", skills={"support": 8})

    desk.call("c1", "support", skills={"support": 6})

    assert desk.offered_to("c1") == ["senior"]


def test_tiered_overflow_lowers_the_level_after_waiting(desk, event_names):
    desk.queue(
        "premium",
        skills={"premium": 7},
        overflow=[OverflowStep(after_seconds=20, lower_levels_by=3)],
    )
    desk.agent("junior", skills={"premium": 4})
    desk.call("c1", "premium")
    assert desk.offered_to("c1") == []

    assert event_names(desk.wait(19)) == []
    events = desk.wait(1)

    assert event_names(events) == ["DeadlinesPassed", "CallOverflowed", "CallOffered"]
    assert events[1].condition == "waited 20s"
    assert events[2].explanation["overflow_step"] == 0
    assert events[2].explanation["requirements"] == {"premium": 4}


def test_overflow_to_another_group_when_no_agent_is_ready(desk):
    to_prepaid = OverflowStep(when_no_agent_ready=True, add_groups=["prepaid"])
    desk.queue("youth", skills={"general": 1}, agent_groups=["youth"], overflow=[to_prepaid])
    desk.agent("y1", groups=["youth"], ready=False)
    desk.agent("p1", groups=["prepaid"])

    desk.call("c1", "youth")

    assert desk.offered_to("c1") == ["p1"]
    assert desk.state.calls["c1"].step == 0


def test_overflow_to_another_queue_when_the_queue_is_long(desk):
    desk.queue("north", skills={"north": 1})
    desk.queue(
        "south",
        skills={"south": 1},
        overflow=[OverflowStep(when_queue_length_at_least=2, add_queues=["north"])],
    )
    desk.agent("n1", skills={"north": 3})

    desk.call("s1", "south")
    assert desk.offered_to("s1") == []
    desk.call("s2", "south")

    assert desk.offered_to("s1") == ["n1"]


def test_priority_ages_so_low_priority_callers_are_never_starved(desk):
    desk.queue(priority_step_seconds=60, wrap_up_seconds=0)
    desk.agent("alice", ready=False)
    desk.call("old-low", priority=0)
    desk.wait(90)
    desk.call("new-high", priority=1)  # worth 60 s of waiting: old-low has waited 90 s
    desk.do(cmd.MakeReady("alice"))

    assert desk.offered_to("old-low") == ["alice"]


def test_higher_priority_goes_first_when_waits_are_close(desk):
    desk.queue(priority_step_seconds=60)
    desk.agent("alice", ready=False)
    desk.call("low", priority=0)
    desk.wait(30)
    desk.call("high", priority=1)
    desk.do(cmd.MakeReady("alice"))

    assert desk.offered_to("high") == ["alice"]


def test_an_agent_of_two_queues_takes_the_longest_waiting_caller_across_them(desk):
    desk.queue("sales", skills={"sales": 1})
    desk.queue("care", skills={"care": 1})
    desk.agent("both", skills={"sales": 5, "care": 5}, ready=False)
    desk.call("sales-1", "sales")
    desk.wait(10)
    desk.call("care-1", "care")

    desk.do(cmd.MakeReady("both"))

    assert desk.offered_to("sales-1") == ["both"]


def test_preferred_agent_is_waited_for_then_the_pool_widens(desk, event_names):
    desk.queue(preferred_agent_seconds=30)
    desk.agent("other")
    desk.agent("favourite", ready=False)
    desk.call("c1", preferred_agent_id="favourite")
    assert desk.offered_to("c1") == []

    events = desk.wait(30)

    assert event_names(events) == ["DeadlinesPassed", "CallOffered"]
    assert desk.offered_to("c1") == ["other"]


def test_preferred_agent_gets_the_call_when_ready_in_time(desk):
    desk.queue(preferred_agent_seconds=30)
    desk.agent("other")
    desk.agent("favourite", ready=False)
    desk.call("c1", preferred_agent_id="favourite")
    desk.wait(10)

    desk.do(cmd.MakeReady("favourite"))

    assert desk.offered_to("c1") == ["favourite"]
    assert desk.state.calls["c1"].explanation["preferred_agent"] is True


def test_closed_queue_full_queue_and_max_wait_send_callers_away(desk, event_names):
    office = BusinessHours(
        pattern="5x8", opens="08:00", closes="16:00", timezone="Europe/Paris",
        holidays=[date(2026, 12, 25)],
    )  # fmt: skip
    desk.queue("day", hours=office)
    desk.queue("small", max_length=1, max_wait_seconds=60)

    desk.now = desk.now.replace(hour=15, minute=30)  # 16:30 in Paris
    assert desk.call("late", "day")[0].reason == "closed"
    desk.now = desk.now.replace(hour=8)
    assert event_names(desk.call("on-time", "day")) == ["CallQueued"]
    desk.now = desk.now.replace(month=12, day=25)
    assert desk.call("christmas", "day")[0].reason == "closed"

    desk.call("first", "small")
    assert desk.call("second", "small")[0].reason == "full"
    events = desk.wait(60)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in events][-1] == (
        "CallExitedQueue", "max_wait",
    )  # fmt: skip


def test_join_when_empty_refuses_callers_nobody_could_serve(desk):
    desk.queue("night", join_when_empty="if_logged_in")
    assert desk.call("c1", "night")[0].reason == "join_empty"
    desk.agent("owl", ready=False)
    assert type(desk.call("c2", "night")[0]).__name__ == "CallQueued"


def test_a_known_customer_waits_first_for_the_agent_they_spoke_to_last(desk):
    desk.queue(preferred_agent_seconds=20, wrap_up_seconds=0)
    desk.agent("ann")
    desk.wait(1)
    desk.agent("ben")
    desk.call("first", customer_id="cust-7")
    assert desk.offered_to("first") == ["ann"]
    desk.do(cmd.RejectCall("first", "ann"))  # ben takes it
    desk.do(cmd.AnswerCall("first", "ben"))
    desk.do(cmd.HangUp("first", by="caller"))
    desk.do(cmd.MakeNotReady("ben", "break"))

    queued = desk.call("second", customer_id="cust-7")[0]

    assert queued.preferred_agent_id == "ben"
    assert desk.offered_to("second") == []  # ann is ready, but ben gets the first 20 s
    desk.do(cmd.MakeReady("ben"))
    assert desk.offered_to("second") == ["ben"]


def test_without_a_preferred_window_the_last_agent_is_not_waited_for(desk):
    desk.queue(wrap_up_seconds=0)
    desk.agent("ann")
    desk.call("first", customer_id="cust-7")
    desk.do(cmd.AnswerCall("first", "ann"))
    desk.do(cmd.HangUp("first", by="caller"))
    desk.do(cmd.MakeNotReady("ann", "break"))
    desk.agent("ben")

    desk.call("second", customer_id="cust-7")

    assert desk.offered_to("second") == ["ben"]


def test_the_crm_identifying_a_caller_before_queueing_names_their_last_agent(desk):
    desk.queue(preferred_agent_seconds=20, wrap_up_seconds=0)
    desk.agent("ann")
    desk.call("old", customer_id="cust-9")
    desk.do(cmd.AnswerCall("old", "ann"))
    desk.do(cmd.HangUp("old", by="caller"))
    desk.do(cmd.MakeNotReady("ann", "break"))
    desk.agent("ben")

    desk.do(cmd.IdentifyCustomer("new", "cust-9"))  # the CRM is faster than the IVR
    queued = desk.call("new")[0]

    assert (queued.customer_id, queued.preferred_agent_id) == ("cust-9", "ann")
    assert desk.offered_to("new") == []
    assert desk.state.identified == {}


def test_an_identification_after_queueing_applies_to_the_waiting_call(desk, event_names):
    desk.queue(preferred_agent_seconds=20)
    desk.call("c1")

    events = desk.do(cmd.IdentifyCustomer("c1", "cust-3", preferred_agent_id="ann"))

    assert event_names(events) == ["CallCustomerIdentified"]
    call = desk.state.calls["c1"]
    assert (call.customer_id, call.preferred_agent_id) == ("cust-3", "ann")


def test_identifications_of_calls_never_queued_are_forgotten(desk):
    desk.queue()
    desk.do(cmd.IdentifyCustomer("self-served", "cust-1"))
    assert "self-served" in desk.state.identified

    desk.wait(3600)

    assert desk.state.identified == {}
