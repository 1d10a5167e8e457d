"""What can be asked of the ACD. Each command is decided against the state at ``now``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from callcenter.routing.domain.config import AgentConfig, QueueConfig


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
    | Tick
)
