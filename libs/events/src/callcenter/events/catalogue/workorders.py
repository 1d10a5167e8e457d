"""Events of ``callcenter.workorders`` (writer: workorders; one stream per ticket)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from callcenter.events.catalogue.base import Event, event_type


@event_type()
class TicketOpened(Event):
    ticket_id: str
    type: str
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    customer_id: str | None = None
    call_id: str | None = None
    source: Literal["agent", "voicemail", "callback", "abandoned_call", "api", "email"] = "agent"
    sla_policy: str | None = None


class _TicketStep(Event):
    ticket_id: str
    by: str
    to: str | None = None


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


class _TicketOutcome(Event):
    ticket_id: str
    first_contact_resolution: bool = False
    reason: str | None = None


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


class _TicketSla(Event):
    ticket_id: str
    metric: Literal["first_reply", "next_reply", "resolution", "follow_up"]
    due_at: AwareDatetime


@event_type()
class TicketSlaWarning(_TicketSla):
    pass


@event_type()
class TicketSlaBreached(_TicketSla):
    pass


@event_type()
class TicketEscalated(_TicketSla):
    level: int = 1
