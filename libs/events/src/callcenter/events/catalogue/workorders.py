"""Events of ``callcenter.workorders`` (writer: workorders; one stream per ticket).

Every event carries ``at``, the instant the decision was taken (the clock the
decider was given), so that replay and analytics never depend on append time.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime

from callcenter.events.catalogue.base import Event, event_type

Priority = Literal["low", "normal", "high", "urgent"]
SlaMetric = Literal["first_reply", "next_reply", "resolution", "follow_up"]


TicketSource = Literal["agent", "voicemail", "callback", "abandoned_call", "api", "email", "call"]


@event_type()
class TicketOpened(Event):
    ticket_id: str
    type: str
    priority: Priority = "normal"
    customer_id: str | None = None
    call_id: str | None = None
    # "call": the follow-up an agent asked for in the call's disposition.
    source: TicketSource = "agent"
    sla_policy: str | None = None
    title: str = ""
    description: str = ""
    by: str = "system"
    at: AwareDatetime | None = None
    # The type's definition as it was when the ticket opened: the workflow
    # (states, transitions, roles, required fields) and the SLA policy
    # (targets per priority, business-hours calendar). Replay needs nothing else.
    workflow: dict[str, Any] | None = None
    sla: dict[str, Any] | None = None


class _TicketStep(Event):
    ticket_id: str
    by: str
    to: str | None = None
    note: str | None = None
    at: AwareDatetime | None = None


@event_type()
class TicketDispatched(_TicketStep):
    pass


@event_type()
class TicketReplied(_TicketStep):
    pass


@event_type()
class TicketFollowedUp(_TicketStep):
    pass


@event_type()
class TicketPendingCustomer(_TicketStep):
    pass


@event_type()
class TicketResumed(_TicketStep):
    """The customer answered: the ticket leaves pending and its clocks run again."""


class _TicketOutcome(Event):
    ticket_id: str
    first_contact_resolution: bool = False
    reason: str | None = None
    by: str = "system"
    at: AwareDatetime | None = None


@event_type()
class TicketResolved(_TicketOutcome):
    pass


@event_type()
class TicketClosed(_TicketOutcome):
    pass


@event_type()
class TicketCancelled(_TicketOutcome):
    pass


@event_type()
class TicketReopened(_TicketOutcome):
    pass


@event_type()
class TicketsMerged(_TicketOutcome):
    merged_ticket_id: str


@event_type()
class TicketPriorityChanged(Event):
    ticket_id: str
    priority: Priority
    by: str = "system"
    at: AwareDatetime | None = None


@event_type()
class TicketSlaClockChanged(Event):
    """An SLA clock started, paused, resumed, was retargeted or was met (metric events).

    It carries the clock's whole state after the transition: business seconds
    consumed so far, the target, and while running the due and warning instants.
    """

    ticket_id: str
    metric: SlaMetric
    transition: Literal["started", "paused", "resumed", "retargeted", "met", "stopped"]
    status: Literal["running", "paused", "met", "stopped"]
    at: AwareDatetime
    target_seconds: float
    consumed_seconds: float
    running_since: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    warn_at: AwareDatetime | None = None


class _TicketSla(Event):
    ticket_id: str
    metric: SlaMetric
    due_at: AwareDatetime
    at: AwareDatetime | None = None


@event_type()
class TicketSlaWarning(_TicketSla):
    pass


@event_type()
class TicketSlaBreached(_TicketSla):
    pass


@event_type()
class TicketEscalated(_TicketSla):
    level: int = 1
    action: Literal["notify_supervisor", "raise_priority", "redispatch"] = "notify_supervisor"
    priority: Priority | None = None
    notify: str | None = None


@event_type()
class TicketMergeReceived(Event):
    """Another ticket was merged into this one (which survives), bringing its
    follow-up count and its notes (its whole history stays on its own stream)."""

    ticket_id: str
    merged_ticket_id: str
    by: str = "system"
    at: AwareDatetime | None = None
    follow_ups: int = 0
    notes: list[str] = []
