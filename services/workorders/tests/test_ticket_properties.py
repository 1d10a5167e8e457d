"""Invariants of the ticket under random actions and time steps (hypothesis).

After every step: the state is one the workflow knows, no clock runs while the
ticket waits on the customer or is finished, a clock breaches at most once per run, a
ticket is never cancelled while resolved, and replaying the events (through JSON, as
they are stored) rebuilds the same ticket.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.events.catalogue import registry
from callcenter.workorders.domain.calendar import Calendar
from callcenter.workorders.domain.commands import Act
from callcenter.workorders.domain.config import (
    ACTIONS,
    PRIORITIES,
    EscalationStep,
    SlaPolicy,
    Targets,
    TicketType,
)
from callcenter.workorders.domain.errors import TicketError
from callcenter.workorders.domain.ticket import Ticket, evolve

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ROLES = ("agent", "supervisor", "admin", "integrator")
MAYBE_TEXT = st.one_of(st.none(), st.sampled_from(["", "bob", "t0", "duplicate"]))

actions = st.builds(
    Act,
    action=st.sampled_from(ACTIONS),
    by=st.sampled_from(["alice", "bob", "customer"]),
    roles=st.sets(st.sampled_from(ROLES), min_size=1, max_size=2).map(lambda r: tuple(sorted(r))),
    to=MAYBE_TEXT,
    reason=MAYBE_TEXT,
    into=st.one_of(st.none(), st.sampled_from(["t0", "t1"])),
    priority=st.one_of(st.none(), st.sampled_from([*PRIORITIES, "critical"])),
)
steps = st.lists(
    st.one_of(actions, st.floats(min_value=1, max_value=3 * 86400)), min_size=1, max_size=40
)


HOUR = 3600.0
OFFICE = Calendar(
    zone="Europe/Paris",
    hours={d: ((9 * 60, 12 * 60), (13 * 60, 17 * 60)) for d in range(5)},
    holidays=frozenset({date(2026, 3, 30)}),
)
KINDS = {
    "24x7": SlaPolicy(targets={p: Targets(HOUR, 2 * HOUR, HOUR / 2) for p in PRIORITIES}),
    "office": SlaPolicy(targets={p: Targets(2 * HOUR, 8 * HOUR) for p in PRIORITIES},
                        calendar=OFFICE, escalation=(EscalationStep("notify_supervisor"),
                                                     EscalationStep("redispatch", to="tier-2"))),
    # each breach raises the priority, whose shorter targets the clocks then take
    "tiered": SlaPolicy(targets={p: Targets(HOUR / (n + 1), 4 * HOUR / (n + 1))
                                 for n, p in enumerate(PRIORITIES)}),
}  # fmt: skip
# Starts around the spring DST change in Paris (29 March 2026) and a plain week.
STARTS = st.builds(
    lambda day, minute: datetime(2026, 3, 26, tzinfo=UTC) + timedelta(days=day, minutes=minute),
    st.integers(0, 5) | st.just(60),
    st.integers(0, 24 * 60 - 1),
)


def round_trip(events) -> Ticket:
    ticket = Ticket()
    for event in events:
        model = registry.model(event.event_type)
        ticket = evolve(ticket, model.model_validate_json(event.model_dump_json()))
    return ticket


def check(desk) -> None:
    ticket = desk.ticket
    assert ticket.status in ticket.workflow.states
    running = {m for m, c in ticket.clocks.items() if c.status == "running"}
    if ticket.status != "new" and ticket.status != "assigned":
        assert not running, (ticket.status, running)
    if ticket.status in ("closed", "cancelled", "merged"):
        assert all(c.status in ("met", "stopped") for c in ticket.clocks.values())
    for clock in ticket.clocks.values():
        assert clock.consumed_seconds <= (desk.now - ticket.opened_at).total_seconds() + 1e-6
    # a clock breaches at most once per run: once per start (next_reply starts anew per cycle)
    breaches = Counter(e.metric for e in desk.log if type(e).__name__ == "TicketSlaBreached")
    starts = Counter(e.metric for e in desk.log if getattr(e, "transition", None) == "started")
    assert all(count <= starts[metric] for metric, count in breaches.items())
    kinds = [type(e).__name__ for e in desk.log]
    if "TicketCancelled" in kinds:  # never while resolved (a reopened ticket may be)
        before = [k for k in kinds[: kinds.index("TicketCancelled")]
                  if k in ("TicketResolved", "TicketReopened")]  # fmt: skip
        assert not before or before[-1] == "TicketReopened"
    assert round_trip(desk.log) == ticket


@PROPERTY
@given(steps=steps, priority=st.sampled_from(PRIORITIES), kind=st.sampled_from(sorted(KINDS)),
       start=STARTS)  # fmt: skip
def test_random_actions_never_reach_an_illegal_state(make_desk, steps, priority, kind, start):
    desk = make_desk(TicketType("repair", sla=KINDS[kind]), now=start)
    desk.open(priority=priority)
    for step in steps:
        if isinstance(step, float):
            desk.wait(step)
        else:
            before = (desk.ticket, len(desk.log))
            try:
                desk.do(step)
            except TicketError:
                assert (desk.ticket, len(desk.log)) == before
            desk.now += timedelta(seconds=1)
        check(desk)
