"""Events of ``callcenter.ivr`` (writer: ivr; one stream per call)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from callcenter.events.catalogue.base import Event, event_type

Channel = Literal["voice", "callback", "outbound"]


@event_type()
class CallArrived(Event):
    call_id: str
    ani: str
    dnis: str
    channel: Channel = "voice"
    flow_id: str | None = None
    flow_version: int | None = None
    at: AwareDatetime | None = None


@event_type()
class IvrNodeEntered(Event):
    call_id: str
    node_id: str
    node_type: str


@event_type()
class IvrInputReceived(Event):
    call_id: str
    node_id: str
    node_type: str
    digits: str = ""
    timeout: bool = False
    attempt: int = Field(default=1, ge=1)


@event_type()
class IvrInputInvalid(Event):
    call_id: str
    node_id: str
    node_type: str
    digits: str = ""
    timeout: bool = False
    attempt: int = Field(default=1, ge=1)


@event_type()
class IvrVariablesSet(Event):
    """Flow variables changed: a set node, a menu choice, collected digits, a data dip."""

    call_id: str
    node_id: str
    variables: dict[str, str]


@event_type()
class IvrDataDipCompleted(Event):
    call_id: str
    node_id: str
    outcome: Literal["ok", "error", "timeout"]
    elapsed: float = Field(default=0, ge=0)
    detail: str = ""


@event_type()
class CallEnqueueRequested(Event):
    call_id: str
    queue_id: str
    skills: dict[str, int] = Field(default_factory=dict)
    priority: int = 0
    customer_id: str | None = None
    ani: str | None = None  # the caller's number, for the agent's console
    language: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    hold_music: str | None = None


@event_type()
class CallbackOfferAccepted(Event):
    call_id: str
    number: str
    queue_id: str


@event_type()
class VoicemailRecorded(Event):
    call_id: str
    recording_uri: str
    duration: float = Field(ge=0)
    customer_id: str | None = None


@event_type()
class IvrCompleted(Event):
    call_id: str
    outcome: Literal["queued", "self_served", "voicemail", "callback", "transferred", "hung_up"]
    duration: float = Field(ge=0)


@event_type()
class CallHungUp(Event):
    call_id: str
    by: Literal["caller", "system"]
    at: AwareDatetime
    # Why the system ended it, e.g. "max_age": the provider never reported the hang-up.
    reason: str | None = None


@event_type()
class SurveyAnswered(Event):
    call_id: str
    agent_id: str | None = None
    queue_id: str | None = None
    question: str
    score: int = Field(ge=1, le=5)


@event_type()
class OutboundCallStatus(Event):
    """What became of a leg routing asked for (OutboundCallRequested), from the provider."""

    call_id: str
    status: Literal["answered", "no_answer", "busy", "machine", "failed"]
    number: str
    at: AwareDatetime
    campaign_id: str | None = None
    contact_id: str | None = None
    ring: float = Field(default=0, ge=0)


@event_type()
class SurveyOffered(Event):
    """A call was sampled for the post-call survey (response rate = answered / offered)."""

    call_id: str
    queue_id: str
    agent_id: str | None = None
    channel: Literal["ivr", "outbound"]


@event_type()
class RecordingStarted(Event):
    call_id: str
    recording_id: str
    at: AwareDatetime


@event_type()
class RecordingPaused(Event):
    """Paused while the caller keys sensitive digits (card numbers)."""

    call_id: str
    recording_id: str
    at: AwareDatetime
    reason: str = "sensitive_input"


@event_type()
class RecordingResumed(Event):
    call_id: str
    recording_id: str
    at: AwareDatetime


@event_type()
class RecordingStopped(Event):
    call_id: str
    recording_id: str
    uri: str
    duration: float = Field(ge=0)
    at: AwareDatetime
    retain_until: AwareDatetime | None = None
