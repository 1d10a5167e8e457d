"""Events of ``callcenter.routing`` (writer: routing; one ordered log per tenant)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from callcenter.events.catalogue.base import Event, event_type


@event_type()
class QueueConfigured(Event):
    queue_id: str
    name: str
    config: dict[str, Any] = Field(default_factory=dict)


@event_type()
class AgentConfigured(Event):
    agent_id: str
    name: str
    config: dict[str, Any] = Field(default_factory=dict)


@event_type()
class AgentLoggedIn(Event):
    agent_id: str


@event_type()
class AgentReady(Event):
    agent_id: str


@event_type()
class AgentNotReady(Event):
    agent_id: str
    reason: str


@event_type()
class AgentLoggedOut(Event):
    agent_id: str


@event_type()
class CallQueued(Event):
    call_id: str
    queue_id: str
    priority: int = 0
    position: int = Field(ge=1)
    ewt: float | None = Field(default=None, ge=0)


@event_type()
class CallOffered(Event):
    call_id: str
    agent_id: str
    queue_id: str
    offer_expires_at: AwareDatetime
    explanation: str = ""


@event_type()
class CallOfferDeclined(Event):
    call_id: str
    agent_id: str
    reason: Literal["rejected", "timed_out"]


@event_type()
class CallOverflowed(Event):
    call_id: str
    queue_id: str
    from_step: str | None = None
    to_step: str | None = None
    to_queue_id: str | None = None


@event_type()
class CallAnswered(Event):
    call_id: str
    agent_id: str
    queue_id: str
    wait: float = Field(ge=0)
    ring: float = Field(ge=0)


@event_type()
class CallAbandoned(Event):
    call_id: str
    queue_id: str
    wait: float = Field(ge=0)
    position: int = Field(ge=1)


@event_type()
class CallExitedQueue(Event):
    call_id: str
    queue_id: str
    reason: Literal["max_wait", "closed", "full", "join_empty"]


@event_type()
class CallEnded(Event):
    call_id: str
    agent_id: str
    talk: float = Field(ge=0)
    hold: float = Field(default=0, ge=0)
    ended_by: Literal["agent", "caller", "system"]


@event_type()
class AgentWrapUpStarted(Event):
    agent_id: str
    call_id: str


@event_type()
class AgentWrapUpEnded(Event):
    agent_id: str
    call_id: str
    wrap: float = Field(ge=0)


@event_type()
class CallbackRequested(Event):
    callback_id: str
    call_id: str
    number: str
    queue_id: str


@event_type()
class CallbackOffered(Event):
    callback_id: str
    call_id: str
    number: str
    queue_id: str
    agent_id: str


@event_type()
class CallbackCompleted(Event):
    callback_id: str
    call_id: str
    number: str
    queue_id: str
    outcome: Literal["connected", "no_answer", "busy", "failed", "cancelled"]


@event_type()
class CallTransferred(Event):
    call_id: str
    from_agent_id: str
    to_queue_id: str | None = None
    to_agent_id: str | None = None
