"""What can be asked of a ticket."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.workorders.domain.config import TicketType


@dataclass(frozen=True)
class Open:
    ticket_id: str
    ticket_type: TicketType
    by: str = "system"
    priority: str = "normal"
    title: str = ""
    description: str = ""
    customer_id: str | None = None
    call_id: str | None = None
    source: str = "agent"


@dataclass(frozen=True)
class Act:
    """One of the workflow's actions (``dispatch``, ``reply``, ``resolve``...)."""

    action: str
    by: str
    roles: tuple[str, ...] = ("agent",)  # the caller's roles; any allowed one will do
    to: str | None = None
    note: str | None = None
    reason: str | None = None
    into: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class Absorb:
    """Record that ``merged_ticket_id`` is merged into this ticket (the survivor),
    with the merged ticket's follow-up count and notes."""

    merged_ticket_id: str
    by: str
    follow_ups: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tick:
    """Fire the deadlines (SLA warnings, breaches) due at ``now``."""


Command = Open | Act | Absorb | Tick
