"""The ticket's state, rebuilt from its events by ``evolve``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from callcenter.events.catalogue import Event
from callcenter.events.catalogue import workorders as ev
from callcenter.workorders.domain.config import INITIAL, SlaPolicy, Workflow

PRIORITY_ORDER = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class Clock:
    """An SLA clock: business seconds consumed, and while running when it is due."""

    metric: str
    status: str  # running, paused, met, stopped
    target_seconds: float
    consumed_seconds: float = 0.0
    running_since: datetime | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    warned: bool = False
    breached: bool = False


@dataclass(frozen=True)
class Ticket:
    id: str = ""
    status: str = ""  # "" before TicketOpened
    type: str = ""
    title: str = ""
    description: str = ""
    priority: str = "normal"
    customer_id: str | None = None
    call_id: str | None = None
    source: str = "agent"
    opened_by: str = ""
    opened_at: datetime | None = None
    assignee: str | None = None
    workflow: Workflow | None = None
    sla: SlaPolicy | None = None
    clocks: dict[str, Clock] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # of every step, in order
    replies: int = 0
    follow_ups: int = 0
    escalation_level: int = 0
    resolved_at: datetime | None = None
    reopened: int = 0
    merged_into: str | None = None
    merged_from: tuple[str, ...] = ()
    cancel_reason: str | None = None
    updated_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.status != ""

    @property
    def breached(self) -> bool:
        return any(clock.breached for clock in self.clocks.values())

    def next_deadline(self) -> datetime | None:
        """The earliest warning or breach still to fire: the timer loop's wake-up."""
        due = []
        for clock in self.clocks.values():
            if clock.status != "running":
                continue
            if not clock.warned and clock.warn_at is not None:
                due.append(clock.warn_at)
            if not clock.breached and clock.due_at is not None:
                due.append(clock.due_at)
        return min(due, default=None)


STEP_TARGETS = {
    ev.TicketPendingCustomer: "pending_customer",
    ev.TicketResumed: "assigned",
    ev.TicketResolved: "resolved",
    ev.TicketClosed: "closed",
    ev.TicketCancelled: "cancelled",
    ev.TicketReopened: "assigned",
    ev.TicketsMerged: "merged",
}


def evolve(ticket: Ticket, event: Event) -> Ticket:
    at = getattr(event, "at", None)
    if at is not None:
        ticket = replace(ticket, updated_at=at)
    note = getattr(event, "note", None)
    if note:
        ticket = replace(ticket, notes=(*ticket.notes, note))
    match event:
        case ev.TicketOpened():
            return Ticket(
                id=event.ticket_id,
                status=INITIAL,
                type=event.type,
                title=event.title,
                description=event.description,
                priority=event.priority,
                customer_id=event.customer_id,
                call_id=event.call_id,
                source=event.source,
                opened_by=event.by,
                opened_at=event.at,
                workflow=Workflow.from_json(event.workflow) if event.workflow else None,
                sla=SlaPolicy.from_json(event.sla) if event.sla else None,
                updated_at=event.at,
            )
        case ev.TicketSlaClockChanged():
            old = ticket.clocks.get(event.metric)
            restarted = event.transition == "started"
            clock = Clock(
                metric=event.metric,
                status=event.status,
                target_seconds=event.target_seconds,
                consumed_seconds=event.consumed_seconds,
                running_since=event.running_since,
                due_at=event.due_at,
                warn_at=event.warn_at,
                warned=bool(old and old.warned and not restarted),
                breached=bool(old and old.breached and not restarted),
            )
            return replace(ticket, clocks={**ticket.clocks, event.metric: clock})
        case ev.TicketSlaWarning():
            return _mark(ticket, event.metric, warned=True)
        case ev.TicketSlaBreached():
            return _mark(ticket, event.metric, warned=True, breached=True)
        case ev.TicketEscalated():
            return replace(
                ticket,
                escalation_level=max(ticket.escalation_level, event.level),
                priority=event.priority or ticket.priority,
            )
        case ev.TicketPriorityChanged():
            return replace(ticket, priority=event.priority)
        case ev.TicketDispatched():
            return replace(ticket, status="assigned", assignee=event.to)
        case ev.TicketReplied():
            return replace(ticket, replies=ticket.replies + 1)
        case ev.TicketFollowedUp():
            return replace(ticket, follow_ups=ticket.follow_ups + 1)
        case ev.TicketResolved():
            return replace(ticket, status="resolved", resolved_at=event.at)
        case ev.TicketReopened():
            return replace(ticket, status="assigned", resolved_at=None,
                           reopened=ticket.reopened + 1)  # fmt: skip
        case ev.TicketCancelled():
            return replace(ticket, status="cancelled", cancel_reason=event.reason)
        case ev.TicketMergeReceived():
            return replace(
                ticket,
                merged_from=(*ticket.merged_from, event.merged_ticket_id),
                follow_ups=ticket.follow_ups + event.follow_ups,
                notes=(*ticket.notes, *event.notes),
            )
        case ev.TicketsMerged():
            return replace(ticket, status="merged", merged_into=event.merged_ticket_id)
        case _ if type(event) in STEP_TARGETS:
            return replace(ticket, status=STEP_TARGETS[type(event)])
    return ticket


def _mark(ticket: Ticket, metric: str, **flags: bool) -> Ticket:
    clock = ticket.clocks.get(metric)
    if clock is None:
        return ticket
    return replace(ticket, clocks={**ticket.clocks, metric: replace(clock, **flags)})


def replay(events: list[Event]) -> Ticket:
    ticket = Ticket()
    for event in events:
        ticket = evolve(ticket, event)
    return ticket
