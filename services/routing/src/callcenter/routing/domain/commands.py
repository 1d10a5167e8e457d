"""What can be asked of the ACD. Each command is decided against the state at ``now``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from callcenter.routing.domain.campaigns import CampaignConfig
from callcenter.routing.domain.config import AgentConfig, QueueConfig, TenantSettings


@dataclass(frozen=True)
class ConfigureQueue:
    queue_id: str
    config: QueueConfig


@dataclass(frozen=True)
class RemoveQueue:
    queue_id: str


@dataclass(frozen=True)
class ConfigureAgent:
    agent_id: str
    config: AgentConfig


@dataclass(frozen=True)
class LogIn:
    agent_id: str


@dataclass(frozen=True)
class MakeReady:
    agent_id: str


@dataclass(frozen=True)
class MakeNotReady:
    agent_id: str
    reason: str = "break"


@dataclass(frozen=True)
class LogOut:
    agent_id: str


@dataclass(frozen=True)
class EnqueueCall:
    call_id: str
    queue_id: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    customer_id: str | None = None
    ani: str | None = None
    preferred_agent_id: str | None = None


@dataclass(frozen=True)
class AnswerCall:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class RejectCall:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class HangUp:
    """The caller (or the agent, or the system) ends the call, wherever it is.

    For a callback the agent is dialing, ``outcome`` says how the dial went.
    """

    call_id: str
    by: Literal["caller", "agent", "system"] = "caller"
    outcome: Literal["connected", "no_answer", "busy", "failed"] = "connected"


@dataclass(frozen=True)
class RequestCallback:
    call_id: str
    number: str


@dataclass(frozen=True)
class IdentifyCustomer:
    """The CRM identified the caller of a call (usually before the IVR queues it)."""

    call_id: str
    customer_id: str
    preferred_agent_id: str | None = None


@dataclass(frozen=True)
class FinishWrapUp:
    agent_id: str


@dataclass(frozen=True)
class ConfigureSettings:
    settings: TenantSettings


# -- call handling: ``agent_id`` is the agent acting (the one holding the call, unless
# said otherwise) -------------------------------------------------------------------


@dataclass(frozen=True)
class HoldCall:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class ResumeCall:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class MuteCall:
    call_id: str
    agent_id: str
    muted: bool = True


@dataclass(frozen=True)
class TransferCall:
    """Blind transfer to a queue or a named agent, or out to a number (exactly one)."""

    call_id: str
    agent_id: str
    to_queue_id: str | None = None
    to_agent_id: str | None = None
    to_number: str | None = None


@dataclass(frozen=True)
class StartConsult:
    """Hold the caller and speak to an agent, named or taken from a queue (one of them)."""

    call_id: str
    agent_id: str
    to_agent_id: str | None = None
    to_queue_id: str | None = None


@dataclass(frozen=True)
class CompleteConsult:
    call_id: str
    agent_id: str


@dataclass(frozen=True)
class CancelConsult:
    """The agent cancels the consult, or the consulted agent (as ``agent_id``) hangs up."""

    call_id: str
    agent_id: str


@dataclass(frozen=True)
class AddParty:
    call_id: str
    agent_id: str
    party_agent_id: str


@dataclass(frozen=True)
class LeaveConference:
    """Either agent leaves; the other keeps the caller."""

    call_id: str
    agent_id: str


@dataclass(frozen=True)
class Disposition:
    call_id: str
    agent_id: str
    disposition: str
    notes: str = ""
    follow_up: bool = False
    # On a campaign call: when to call the contact again (within its attempts).
    callback_at: datetime | None = None


@dataclass(frozen=True)
class Supervise:
    """A supervisor joins a connected call: listens (monitor), coaches the agent unheard
    by the caller (whisper), joins the conversation (barge) or takes the call over."""

    call_id: str
    supervisor_id: str
    mode: Literal["monitor", "whisper", "barge", "takeover"]


@dataclass(frozen=True)
class StopSupervising:
    call_id: str
    supervisor_id: str


# -- outbound campaigns ------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigureCampaign:
    campaign_id: str
    config: CampaignConfig


@dataclass(frozen=True)
class AddContacts:
    """Good rows of a contact list (see ``campaigns.parse_contacts``)."""

    campaign_id: str
    contacts: list[dict[str, Any]]


@dataclass(frozen=True)
class ApplyScreening:
    """The CRM's CampaignContactsScreened: customers and consent per contact."""

    campaign_id: str
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class StartCampaign:
    campaign_id: str


@dataclass(frozen=True)
class PauseCampaign:
    campaign_id: str


@dataclass(frozen=True)
class ResumeCampaign:
    campaign_id: str


@dataclass(frozen=True)
class SetDoNotCall:
    numbers: list[str]


@dataclass(frozen=True)
class DialContact:
    """Preview: the agent shown the contact's card dials it now."""

    campaign_id: str
    contact_id: str
    agent_id: str


@dataclass(frozen=True)
class ReportOutbound:
    """The IVR edge's OutboundCallStatus for a leg routing asked for."""

    call_id: str
    status: Literal["answered", "no_answer", "busy", "machine", "failed"]


@dataclass(frozen=True)
class Tick:
    """Time passed: expire offers and wrap-ups, overflow, give up on waits."""


Command = (
    ConfigureQueue
    | RemoveQueue
    | ConfigureAgent
    | LogIn
    | MakeReady
    | MakeNotReady
    | LogOut
    | EnqueueCall
    | AnswerCall
    | RejectCall
    | HangUp
    | RequestCallback
    | IdentifyCustomer
    | FinishWrapUp
    | ConfigureSettings
    | HoldCall
    | ResumeCall
    | MuteCall
    | TransferCall
    | StartConsult
    | CompleteConsult
    | CancelConsult
    | AddParty
    | LeaveConference
    | Disposition
    | Supervise
    | StopSupervising
    | ConfigureCampaign
    | AddContacts
    | ApplyScreening
    | StartCampaign
    | PauseCampaign
    | ResumeCampaign
    | SetDoNotCall
    | DialContact
    | ReportOutbound
    | Tick
)
