from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.workorders.domain.calendar import Calendar
from callcenter.workorders.domain.commands import Act, Open, Tick
from callcenter.workorders.domain.config import SlaPolicy, Targets, TicketType
from callcenter.workorders.domain.decide import decide
from callcenter.workorders.domain.ticket import Ticket, evolve

MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
HOUR = 3600.0


def around_the_clock(first: float = 1 * HOUR, resolution: float = 2 * HOUR) -> TicketType:
    targets = {p: Targets(first, resolution) for p in ("low", "normal", "high", "urgent")}
    return TicketType("repair", sla=SlaPolicy(name="24x7", targets=targets, calendar=Calendar()))


class Desk:
    """One ticket at a desk: a clock, the ticket, and every event so far."""

    def __init__(self, ticket_type: TicketType | None = None, now: datetime = MONDAY) -> None:
        self.ticket_type = ticket_type or around_the_clock()
        self.ticket = Ticket()
        self.now = now
        self.log: list = []

    def do(self, command) -> list:
        events = decide(command, self.ticket, self.now)
        for event in events:
            self.ticket = evolve(self.ticket, event)
        self.log += events
        return events

    def open(self, **details) -> list:
        return self.do(Open("t1", self.ticket_type, by="alice", **details))

    def act(self, action: str, by: str = "alice", role: str = "agent", **fields) -> list:
        return self.do(Act(action, by=by, roles=(role,), **fields))

    def at(self, moment: datetime) -> list:
        self.now = moment
        return self.do(Tick())

    def wait(self, seconds: float) -> list:
        return self.at(self.now + timedelta(seconds=seconds))

    def clock(self, metric: str = "resolution"):
        return self.ticket.clocks[metric]


def names(events) -> list[str]:
    return [type(event).__name__ for event in events]


@pytest.fixture
def desk() -> Desk:
    return Desk()


@pytest.fixture
def make_desk():
    """A fresh desk per call (hypothesis examples, or a second ticket type)."""
    return Desk


@pytest.fixture(name="names")
def names_fixture():
    return names


@pytest.fixture
def ticket_types():
    return {"24x7": around_the_clock}
