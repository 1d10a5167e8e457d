"""SLA clocks: the Znuny vector, pause and resume, warnings, breach once, escalation,
policy changes mid-life, business hours across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.workorders.domain.calendar import Calendar
from callcenter.workorders.domain.config import EscalationStep, SlaPolicy, Targets, TicketType

HOUR = 3600.0
OFFICE = {d: ((8 * 60, 18 * 60),) for d in range(5)}


def test_znuny_vector_pending_time_does_not_count(make_desk, names):
    # created 08:00 with a 2 h solution time, pending 09:00-10:05: escalates at 11:05
    office = Calendar(zone="Europe/Berlin", hours=OFFICE)
    targets = {"normal": Targets(first_reply=8 * HOUR, resolution=2 * HOUR)}
    policy = SlaPolicy(targets=targets, calendar=office, warn_ratio=1.0)
    eight = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).replace(hour=7)  # 08:00 Berlin (UTC+1)
    desk = make_desk(TicketType("repair", sla=policy), now=eight)
    desk.open()
    desk.act("dispatch", to="bob")
    desk.now = eight + timedelta(hours=1)
    desk.act("pend")
    assert desk.clock().consumed_seconds == HOUR
    assert desk.ticket.next_deadline() is None  # nothing fires while paused
    assert desk.at(eight + timedelta(hours=3)) == []  # 11:00 Berlin, still pending
    desk.now = eight + timedelta(hours=2, minutes=5)
    desk.act("resume")
    assert desk.clock().due_at == eight + timedelta(hours=3, minutes=5)  # 11:05 Berlin
    assert desk.at(eight + timedelta(hours=3, minutes=4)) == []
    fired = desk.at(eight + timedelta(hours=3, minutes=5))
    assert names(fired) == ["TicketSlaWarning", "TicketSlaBreached", "TicketEscalated"]
    assert fired[1].metric == "resolution"


def test_warning_then_breach_each_fire_once(desk, names):
    desk.open()
    desk.act("dispatch", to="bob")
    desk.act("reply")
    assert names(desk.wait(95 * 60)) == []
    assert names(desk.wait(60)) == ["TicketSlaWarning"]  # 80 % of 2 h = 96 min
    assert desk.wait(60) == []
    breach = desk.at(desk.ticket.clocks["resolution"].due_at)
    assert names(breach) == ["TicketSlaBreached", "TicketEscalated"]
    assert desk.ticket.breached
    assert desk.wait(3600) == [] and desk.wait(86400) == []
    assert desk.ticket.next_deadline() is None


def test_escalation_raises_the_priority_and_counts_levels(desk):
    desk.open(priority="high")
    desk.wait(3 * HOUR)  # first reply and resolution both breached
    escalations = [e for e in desk.log if type(e).__name__ == "TicketEscalated"]
    assert [(e.metric, e.level, e.priority) for e in escalations] == [
        ("first_reply", 1, "urgent"), ("resolution", 2, "urgent")
    ]  # fmt: skip
    assert escalations[1].action == "notify_supervisor"
    assert (desk.ticket.priority, desk.ticket.escalation_level) == ("urgent", 2)


def test_a_late_reply_still_meets_the_breached_clock_once(desk, names):
    desk.open()
    desk.wait(2 * HOUR)
    assert desk.clock("first_reply").breached
    desk.act("dispatch", to="bob")
    assert names(desk.act("reply")) == ["TicketReplied", "TicketSlaClockChanged"]
    assert desk.clock("first_reply").status == "met"
    assert desk.clock("first_reply").breached  # the breach stays on record


def test_pause_and_resume_repeatedly_accumulate(desk):
    desk.open()
    desk.act("dispatch", to="bob")
    for _ in range(3):
        desk.now += timedelta(minutes=10)
        desk.act("pend")
        desk.now += timedelta(hours=5)
        desk.act("resume")
    assert desk.clock().consumed_seconds == 30 * 60
    assert desk.clock().due_at == desk.now + timedelta(minutes=90)


def test_changing_the_policy_mid_life_keeps_the_paused_time(make_desk):
    targets = {"normal": Targets(4 * HOUR, 8 * HOUR), "urgent": Targets(HOUR, 2 * HOUR)}
    desk = make_desk(TicketType("repair", sla=SlaPolicy(targets=targets, calendar=Calendar())))
    desk.open()
    desk.act("dispatch", to="bob")
    desk.now += timedelta(minutes=30)
    desk.act("pend")
    desk.now += timedelta(hours=10)
    desk.act("reprioritize", role="supervisor", priority="urgent")
    clock = desk.clock()
    assert (clock.status, clock.consumed_seconds, clock.target_seconds) == ("paused", 1800, 7200)
    desk.act("resume")
    assert desk.clock().due_at == desk.now + timedelta(minutes=90)
    history = [e.transition for e in desk.log if type(e).__name__ == "TicketSlaClockChanged"]
    assert history == ["started", "started", "paused", "paused", "retargeted", "retargeted",
                       "resumed", "resumed"]  # fmt: skip


def test_business_hours_across_dst_in_the_ticket(make_desk, names):
    office = Calendar(zone="Europe/Paris", hours={d: ((9 * 60, 17 * 60),) for d in range(5)})
    policy = SlaPolicy(targets={"normal": Targets(HOUR, 2 * HOUR)}, calendar=office)
    friday_4pm = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # 16:00 CET
    desk = make_desk(TicketType("repair", sla=policy), now=friday_4pm)
    desk.open()
    monday_10am_cest = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert desk.clock().due_at == monday_10am_cest
    desk.at(monday_10am_cest - timedelta(seconds=1))
    assert not desk.clock().breached
    breaches = [e for e in desk.at(monday_10am_cest) if type(e).__name__ == "TicketSlaBreached"]
    assert [e.metric for e in breaches] == ["resolution"]


def test_a_type_without_targets_for_the_priority_has_no_clocks(make_desk, names):
    policy = SlaPolicy(targets={"urgent": Targets(HOUR, HOUR)})
    desk = make_desk(TicketType("inquiry", sla=policy))
    assert names(desk.open(priority="low")) == ["TicketOpened"]
    assert desk.wait(10 * 86400) == []


def test_the_next_reply_is_owed_each_time_the_customer_writes_again(make_desk, names):
    targets = {p: Targets(HOUR, 8 * HOUR, next_reply=HOUR / 2) for p in ("normal", "high")}
    desk = make_desk(TicketType("repair", sla=SlaPolicy(targets=targets, calendar=Calendar())))
    desk.open()
    desk.act("dispatch", to="bob")
    assert names(desk.act("follow_up", by="customer")) == ["TicketFollowedUp"]  # not replied yet
    desk.act("reply")
    started = desk.act("follow_up", by="customer")
    assert names(started) == ["TicketFollowedUp", "TicketSlaClockChanged"]
    assert desk.clock("next_reply").due_at == desk.now + timedelta(minutes=30)
    assert names(desk.wait(30 * 60))[-2:] == ["TicketSlaBreached", "TicketEscalated"]
    desk.act("reply")
    assert desk.clock("next_reply").status == "met"
    desk.act("pend")
    desk.now += timedelta(hours=3)
    events = desk.act("resume")  # the customer answered: a new cycle, not breached
    assert [getattr(e, "transition", None) for e in events][1:] == ["started", "resumed"]
    assert (desk.clock("next_reply").breached, desk.clock("next_reply").status) == (
        False,
        "running",
    )
    assert names(desk.wait(24 * 60)) == ["TicketSlaWarning"]
    assert desk.wait(5 * 60) == []
    assert names(desk.wait(60))[-1] == "TicketEscalated"  # this cycle breaches once too
    assert desk.wait(3600) == []


def test_escalation_steps_follow_the_policy(make_desk, names):
    steps = (EscalationStep("notify_supervisor"), EscalationStep("redispatch", to="tier-2"))
    policy = SlaPolicy(targets={"normal": Targets(HOUR, 2 * HOUR)}, escalation=steps)
    desk = make_desk(TicketType("repair", sla=policy))
    desk.open()
    desk.act("dispatch", to="bob")
    first = desk.wait(HOUR)
    assert names(first)[-2:] == ["TicketSlaBreached", "TicketEscalated"]
    assert (first[-1].action, first[-1].priority, desk.ticket.priority) == (
        "notify_supervisor", None, "normal"
    )  # fmt: skip
    second = desk.wait(HOUR)
    assert names(second)[-3:] == ["TicketSlaBreached", "TicketEscalated", "TicketDispatched"]
    assert (second[-2].level, second[-2].action) == (2, "redispatch")
    assert (desk.ticket.assignee, desk.ticket.escalation_level) == ("tier-2", 2)
    assert SlaPolicy.from_json(policy.to_json()) == policy


def test_a_redispatch_step_needs_a_target():
    with pytest.raises(ValueError, match="needs to"):
        EscalationStep("redispatch")
    with pytest.raises(ValueError, match="escalation action"):
        EscalationStep("page_the_ceo")


def test_raising_the_priority_retargets_the_running_clocks_keeping_paused_time(make_desk, names):
    targets = {"normal": Targets(HOUR, 8 * HOUR), "high": Targets(HOUR / 2, 4 * HOUR)}
    desk = make_desk(TicketType("repair", sla=SlaPolicy(targets=targets, calendar=Calendar())))
    desk.open()
    desk.act("dispatch", to="bob")
    desk.now += timedelta(minutes=10)
    desk.act("pend")
    desk.now += timedelta(hours=5)  # pending on the customer: not counted
    desk.act("resume")
    fired = desk.wait(50 * 60)  # first reply due: 1 h of business time consumed
    assert names(fired) == ["TicketSlaWarning", "TicketSlaBreached", "TicketEscalated",
                            "TicketSlaClockChanged", "TicketSlaClockChanged"]  # fmt: skip
    escalated, first, retargeted = fired[2:]
    assert (escalated.action, escalated.priority, desk.ticket.priority) == (
        "raise_priority", "high", "high"
    )  # fmt: skip
    # each running clock takes the high priority's target; the breach stays on record
    assert (first.metric, first.transition, first.target_seconds) == (
        "first_reply", "retargeted", HOUR / 2
    )  # fmt: skip
    assert desk.clock("first_reply").breached
    assert (retargeted.metric, retargeted.transition, retargeted.target_seconds) == (
        "resolution", "retargeted", 4 * HOUR
    )  # fmt: skip
    assert retargeted.consumed_seconds == HOUR  # the 5 h pending stay excluded
    assert desk.clock().due_at == desk.now + timedelta(hours=3)
    assert names(desk.wait(3 * HOUR - 1)) == ["TicketSlaWarning"]  # at 80 % of 4 h
    assert names(desk.wait(1))[:2] == ["TicketSlaBreached", "TicketEscalated"]
