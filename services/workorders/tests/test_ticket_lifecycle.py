"""Every action of the default workflow, its guards, and the events it records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.workorders.domain.commands import Act, Open
from callcenter.workorders.domain.config import DEFAULT_WORKFLOW, TicketType, Transition, Workflow
from callcenter.workorders.domain.decide import decide
from callcenter.workorders.domain.errors import (
    IllegalTransition,
    InvalidValue,
    MissingField,
    NoSuchTicket,
    NotPermitted,
    TicketError,
)
from callcenter.workorders.domain.ticket import Ticket


def test_open_records_the_ticket_and_starts_both_clocks(desk, names):
    events = desk.open(priority="high", title="Broken router", customer_id="cus-1", call_id="c9")
    assert names(events) == ["TicketOpened", "TicketSlaClockChanged", "TicketSlaClockChanged"]
    ticket = desk.ticket
    assert (ticket.status, ticket.priority, ticket.customer_id, ticket.call_id) == (
        "new", "high", "cus-1", "c9"
    )  # fmt: skip
    assert ticket.clocks["first_reply"].due_at == desk.now + timedelta(hours=1)
    assert ticket.clocks["resolution"].due_at == desk.now + timedelta(hours=2)
    assert ticket.next_deadline() == desk.now + timedelta(minutes=48)  # warning at 80 %


def test_the_whole_lifecycle(desk, names):
    desk.open()
    assert names(desk.act("dispatch", to="bob", role="supervisor")) == ["TicketDispatched"]
    assert (desk.ticket.status, desk.ticket.assignee) == ("assigned", "bob")
    assert names(desk.act("reply", by="bob")) == ["TicketReplied", "TicketSlaClockChanged"]
    assert desk.clock("first_reply").status == "met"
    assert names(desk.act("follow_up", by="customer")) == ["TicketFollowedUp"]
    assert desk.ticket.follow_ups == 1
    assert names(desk.act("pend")) == ["TicketPendingCustomer", "TicketSlaClockChanged"]
    assert desk.clock().status == "paused"
    assert names(desk.act("resume")) == ["TicketResumed", "TicketSlaClockChanged"]
    assert desk.clock().status == "running"
    assert names(desk.act("resolve")) == ["TicketResolved", "TicketSlaClockChanged"]
    assert (desk.ticket.status, desk.clock().status) == ("resolved", "met")
    assert names(desk.act("close")) == ["TicketClosed"]
    assert desk.ticket.status == "closed"


def test_an_illegal_transition_names_the_allowed_ones(desk, names):
    desk.open()
    with pytest.raises(IllegalTransition) as refused:
        desk.act("close")
    assert refused.value.extensions["allowed"] == [
        "cancel", "dispatch", "follow_up", "merge", "reprioritize", "resolve"
    ]  # fmt: skip
    assert "close is not allowed from new" in refused.value.detail
    assert desk.ticket.status == "new"


def test_actions_on_a_missing_ticket_are_refused(make_desk):
    with pytest.raises(NoSuchTicket):
        decide(Act("dispatch", by="a", to="b"), Ticket(), make_desk().now)


def test_opening_twice_is_refused(desk, names):
    desk.open()
    with pytest.raises(TicketError, match="already exists"):
        desk.open()


def test_roles_and_required_fields_are_enforced(desk, names):
    desk.open()
    with pytest.raises(NotPermitted):
        desk.act("cancel", reason="duplicate")  # agents may not cancel
    with pytest.raises(MissingField) as missing:
        desk.act("cancel", role="supervisor")
    assert missing.value.extensions["field"] == "reason"
    with pytest.raises(MissingField):
        desk.act("dispatch", to=" ")
    with pytest.raises(InvalidValue):
        desk.act("reprioritize", role="supervisor", priority="critical")
    with pytest.raises(InvalidValue):
        desk.act("merge", into="t1")
    assert len(desk.log) == 3  # only the opening


def test_cancel_only_before_resolution(desk, make_desk, names):
    desk.open()
    desk.act("resolve")
    with pytest.raises(IllegalTransition):
        desk.act("cancel", role="supervisor", reason="changed mind")
    other = make_desk()
    other.open()
    events = other.act("cancel", role="supervisor", reason="duplicate call")
    assert names(events) == ["TicketCancelled", "TicketSlaClockChanged", "TicketSlaClockChanged"]
    assert (other.ticket.status, other.ticket.cancel_reason) == ("cancelled", "duplicate call")
    assert {c.status for c in other.ticket.clocks.values()} == {"stopped"}


def test_reopen_within_the_window_resumes_the_resolution_clock(desk, names):
    desk.open()
    desk.wait(1800)
    desk.act("resolve")
    desk.wait(3 * 24 * 3600)
    events = desk.act("reopen", reason="still broken")
    assert names(events) == ["TicketReopened", "TicketSlaClockChanged"]
    clock = desk.clock()
    assert (desk.ticket.status, clock.status) == ("assigned", "running")
    assert clock.consumed_seconds == 1800
    assert clock.due_at == desk.now + timedelta(seconds=5400)


def test_reopen_after_the_window_is_refused(desk, names):
    desk.open()
    desk.act("resolve")
    desk.wait(8 * 24 * 3600)
    with pytest.raises(TicketError, match="within 7 days"):
        desk.act("reopen")
    assert desk.ticket.status == "resolved"


def test_merge_closes_the_duplicate(desk, names):
    desk.open()
    events = desk.act("merge", into="t0")
    assert names(events)[0] == "TicketsMerged"
    assert (desk.ticket.status, desk.ticket.merged_into) == ("merged", "t0")
    assert desk.ticket.next_deadline() is None


def test_a_first_contact_resolution_is_flagged(desk, names):
    desk.open()
    assert desk.act("resolve")[0].first_contact_resolution is True


def test_a_custom_workflow_without_pending(make_desk):
    transitions = dict(DEFAULT_WORKFLOW.transitions)
    del transitions["pend"]
    transitions["close"] = Transition(("new", "resolved"), "closed", ("agent",))
    desk = make_desk(TicketType("inquiry", workflow=Workflow(DEFAULT_WORKFLOW.states, transitions)))
    desk.open()
    with pytest.raises(IllegalTransition):
        desk.act("pend")
    desk.act("close")
    assert desk.ticket.status == "closed"


def test_a_workflow_cannot_allow_cancel_after_resolution():
    transitions = dict(DEFAULT_WORKFLOW.transitions)
    transitions["cancel"] = Transition(("resolved",), "cancelled")
    with pytest.raises(ValueError, match="before resolution"):
        Workflow(DEFAULT_WORKFLOW.states, transitions)


def test_bad_open_values_are_refused(desk, names):
    with pytest.raises(InvalidValue):
        decide(Open("t1", desk.ticket_type, priority="asap"), Ticket(), desk.now)
