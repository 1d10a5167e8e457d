"""Events of ``callcenter.routing`` (writer: routing; one ordered log per tenant).

The ACD's state is a projection of these events alone, so each carries what
replay needs, and ``at``: the instant the ACD decided it (virtual time in a
simulation). Durations are seconds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from callcenter.events.catalogue.base import Event, event_type


class RoutingEvent(Event):
    at: AwareDatetime


@event_type()
class QueueConfigured(RoutingEvent):
    queue_id: str
    name: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


@event_type()
class QueueRemoved(RoutingEvent):
    queue_id: str


@event_type()
class AgentConfigured(RoutingEvent):
    agent_id: str
    name: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


@event_type()
class AgentLoggedIn(RoutingEvent):
    agent_id: str


@event_type()
class AgentReady(RoutingEvent):
    agent_id: str


@event_type()
class AgentNotReady(RoutingEvent):
    agent_id: str
    reason: str


@event_type()
class AgentLoggedOut(RoutingEvent):
    agent_id: str


@event_type()
class CallQueued(RoutingEvent):
    call_id: str
    queue_id: str
    priority: int = 0
    position: int = Field(ge=1)
    ewt: float | None = Field(default=None, ge=0)
    # What replay needs to rebuild the waiting call:
    skills: dict[str, int] = Field(default_factory=dict)
    customer_id: str | None = None
    ani: str | None = None
    preferred_agent_id: str | None = None
    callback_number: str | None = None
    # A call transferred into this queue keeps the instant it first queued (its
    # priority ages from there); ``at`` is when this visit began.
    enqueued_at: AwareDatetime | None = None


@event_type()
class CallOffered(RoutingEvent):
    call_id: str
    agent_id: str
    queue_id: str
    offer_expires_at: AwareDatetime
    explanation: dict[str, Any] = Field(default_factory=dict)


@event_type()
class CallOfferDeclined(RoutingEvent):
    call_id: str
    agent_id: str
    reason: Literal["rejected", "timed_out"]


@event_type()
class CallOfferCancelled(RoutingEvent):
    """An offer withdrawn before the agent answered it."""

    call_id: str
    agent_id: str
    reason: Literal[
        "caller_hung_up", "answered_elsewhere", "agent_logged_out", "callback_requested"
    ]


@event_type()
class CallOverflowed(RoutingEvent):
    call_id: str
    queue_id: str
    from_step: int = Field(ge=-1)
    to_step: int = Field(ge=0)
    condition: str = ""


@event_type()
class CallAnswered(RoutingEvent):
    call_id: str
    agent_id: str
    queue_id: str
    wait: float = Field(ge=0)
    ring: float = Field(ge=0)
    # What the IVR edge speaks to the caller on connect (the agent's work number),
    # when the queue announces it.
    announce: str | None = None


@event_type()
class CallAbandoned(RoutingEvent):
    call_id: str
    queue_id: str
    wait: float = Field(ge=0)
    position: int = Field(ge=1)


@event_type()
class CallExitedQueue(RoutingEvent):
    call_id: str
    queue_id: str
    reason: Literal["max_wait", "closed", "full", "join_empty"]
    wait: float = Field(default=0, ge=0)


@event_type()
class CallEnded(RoutingEvent):
    call_id: str
    agent_id: str
    queue_id: str = ""
    talk: float = Field(ge=0)
    hold: float = Field(default=0, ge=0)
    ended_by: Literal["agent", "caller", "system"]
    # Only this agent's part ended: the caller was transferred or handed over.
    transferred: bool = False


@event_type()
class AgentWrapUpStarted(RoutingEvent):
    agent_id: str
    call_id: str
    wrap_until: AwareDatetime | None = None
    queue_id: str = ""  # the queue of the call wrapped (a transferred call may be elsewhere)


@event_type()
class AgentWrapUpEnded(RoutingEvent):
    agent_id: str
    call_id: str
    wrap: float = Field(ge=0)
    queue_id: str = ""


@event_type()
class CallbackRequested(RoutingEvent):
    """The caller keeps their place in the queue and hangs up."""

    callback_id: str
    call_id: str
    number: str
    queue_id: str


@event_type()
class CallbackOffered(RoutingEvent):
    callback_id: str
    call_id: str
    number: str
    queue_id: str
    agent_id: str


@event_type()
class CallbackCompleted(RoutingEvent):
    callback_id: str
    call_id: str
    number: str
    queue_id: str
    agent_id: str | None = None
    outcome: Literal["connected", "no_answer", "busy", "failed", "cancelled", "gave_up"]
    attempt: int = Field(default=1, ge=1)
    retry_at: AwareDatetime | None = None


@event_type()
class CallCustomerIdentified(RoutingEvent):
    """The CRM told routing whose call this is (before or after it was queued)."""

    call_id: str
    customer_id: str
    preferred_agent_id: str | None = None


@event_type()
class DeadlinesPassed(RoutingEvent):
    """The ACD's timers up to ``at`` were handled (their effects are the events before)."""


@event_type()
class CallTransferred(RoutingEvent):
    """The agent passed the caller on: to a queue or agent (blind), to the agent they
    consulted or conferenced (consult, conference), or out to a number (external).

    The agent's part then ends (``CallEnded`` with ``transferred``) and wrap-up starts.
    """

    call_id: str
    from_agent_id: str
    to_queue_id: str | None = None
    to_agent_id: str | None = None
    kind: Literal["blind", "consult", "conference", "external"] = "blind"
    number: str | None = None
    queue_id: str = ""  # the queue the call came through


@event_type()
class CallHeld(RoutingEvent):
    call_id: str
    agent_id: str
    queue_id: str = ""


@event_type()
class CallResumed(RoutingEvent):
    call_id: str
    agent_id: str
    queue_id: str = ""
    hold: float = Field(ge=0)  # this hold's seconds


@event_type()
class CallMuted(RoutingEvent):
    call_id: str
    agent_id: str


@event_type()
class CallUnmuted(RoutingEvent):
    call_id: str
    agent_id: str


@event_type()
class CallConsultStarted(RoutingEvent):
    """The agent put the caller on hold and speaks to a second agent (warm transfer)."""

    call_id: str
    agent_id: str
    consult_agent_id: str
    to_queue_id: str | None = None  # the queue the consulted agent was taken from


@event_type()
class CallConsultEnded(RoutingEvent):
    """The consult ended without a transfer; the consulted agent is free again."""

    call_id: str
    agent_id: str
    consult_agent_id: str
    reason: Literal["cancelled", "consulted_hung_up", "call_ended"]
    talk: float = Field(ge=0)


@event_type()
class CallConferenced(RoutingEvent):
    """A third party (agent) joined the caller and the agent."""

    call_id: str
    agent_id: str
    party_agent_id: str


@event_type()
class CallPartyLeft(RoutingEvent):
    """The added party left the conference; the agent keeps the caller."""

    call_id: str
    agent_id: str
    party_agent_id: str
    talk: float = Field(ge=0)


@event_type()
class CallDispositioned(RoutingEvent):
    """The agent recorded how the call went (CRM timeline; follow_up opens a work order)."""

    call_id: str
    agent_id: str
    queue_id: str
    disposition: str
    notes: str = ""
    follow_up: bool = False
    customer_id: str | None = None


@event_type()
class RoutingSettingsConfigured(RoutingEvent):
    """A tenant's routing settings (e.g. the allowed not-ready reasons)."""

    config: dict[str, Any] = Field(default_factory=dict)


# Outbound campaigns (routing owns them; the IVR's edge places the legs).

Outcome = Literal["no_answer", "busy", "machine", "failed"]


@event_type()
class CampaignConfigured(RoutingEvent):
    """A campaign created or changed: queue, mode, schedule, rules (the full config)."""

    campaign_id: str
    name: str = ""
    config: dict[str, Any] = Field(default_factory=dict)


@event_type()
class CampaignContactsAdded(RoutingEvent):
    """Good rows of an uploaded contact list; each {contact_id, number, time_zone, customer_id?}."""

    campaign_id: str
    contacts: list[dict[str, Any]]


@event_type()
class CampaignStarted(RoutingEvent):
    campaign_id: str


@event_type()
class CampaignPaused(RoutingEvent):
    campaign_id: str
    reason: str = "supervisor"  # or "abandon_cap" when the dialer stops itself


@event_type()
class CampaignResumed(RoutingEvent):
    campaign_id: str


@event_type()
class CampaignCompleted(RoutingEvent):
    campaign_id: str
    reason: Literal["exhausted", "ended", "stopped"] = "exhausted"


@event_type()
class ContactAttempted(RoutingEvent):
    """The dialer asked the edge to dial (OutboundCallRequested is the IVR's order)."""

    campaign_id: str
    contact_id: str
    call_id: str
    number: str
    attempt: int = Field(ge=1)
    mode: Literal["preview", "progressive", "predictive"]
    agent_id: str | None = None  # reserved for the call (preview, progressive)
    queue_id: str = ""


@event_type()
class OutboundCallRequested(RoutingEvent):
    """Order to the IVR edge: dial ``number``; report the leg with OutboundCallStatus."""

    call_id: str
    number: str
    caller_id: str = ""
    queue_id: str = ""
    campaign_id: str | None = None
    contact_id: str | None = None
    agent_id: str | None = None
    detect_machine: bool = True
    timeout: float = Field(default=25, gt=0)  # seconds of ringing before no answer


@event_type()
class ContactAnswered(RoutingEvent):
    campaign_id: str
    contact_id: str
    call_id: str
    agent_id: str
    queue_id: str = ""
    wait: float = Field(default=0, ge=0)  # seconds the answered callee waited for an agent


@event_type()
class ContactNotReached(RoutingEvent):
    """No conversation: the outcome, and when (if ever) the contact is tried again."""

    campaign_id: str
    contact_id: str
    call_id: str
    outcome: Outcome
    attempt: int = Field(ge=1)
    retry_at: AwareDatetime | None = None


@event_type()
class ContactAbandoned(RoutingEvent):
    """The callee answered and no agent was free in time: the mandatory message was played."""

    campaign_id: str
    contact_id: str
    call_id: str
    queue_id: str = ""
    wait: float = Field(default=0, ge=0)


@event_type()
class ContactDispositioned(RoutingEvent):
    """The agent recorded the outcome of a campaign conversation (CRM timeline, KPIs)."""

    campaign_id: str
    contact_id: str
    call_id: str
    agent_id: str
    disposition: str
    completed: bool  # counts toward the completion rate (e.g. a sale)
    notes: str = ""
    customer_id: str | None = None
    callback_at: AwareDatetime | None = None


@event_type()
class ContactsScreened(RoutingEvent):
    """Routing's record of the CRM's CampaignContactsScreened: each result
    {contact_id, customer_id, consent: {flag: bool}} now applies to the dialer."""

    campaign_id: str
    results: list[dict[str, Any]]


@event_type()
class ContactConnecting(RoutingEvent):
    """The callee answered and no agent was free yet: an agent must take them within
    the campaign's abandon wait, or the call is abandoned (ContactAbandoned)."""

    campaign_id: str
    contact_id: str
    call_id: str
    queue_id: str = ""


@event_type()
class DoNotCallListSet(RoutingEvent):
    """The tenant's do-not-call list, replaced as a whole (E.164 numbers)."""

    numbers: list[str]


# Supervisors on live calls.


@event_type()
class SupervisorJoined(RoutingEvent):
    """A supervisor monitors (listens), whispers (coaches the agent), barges or takes over."""

    call_id: str
    agent_id: str
    supervisor_id: str
    mode: Literal["monitor", "whisper", "barge", "takeover"]


@event_type()
class SupervisorLeft(RoutingEvent):
    call_id: str
    agent_id: str
    supervisor_id: str
    duration: float = Field(ge=0)
