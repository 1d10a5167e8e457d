"""Outbound legs routing asks for (``OutboundCallRequested``): what the provider reports
becomes one ``OutboundCallStatus`` per leg, and an answered leg is connected.

Pure: no I/O, no clock (``now`` comes in).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import CallHungUp, OutboundCallStatus
from callcenter.ivr.domain.instructions import Connect, Enqueue, Hangup, Instruction, Say

Outcome = Literal["answered", "no_answer", "busy", "machine", "failed"]

# What a provider reports of a leg: Twilio's CallStatus vocabulary (the JSON
# provider speaks it too).
ProviderStatus = Literal[
    "queued", "initiated", "ringing", "in-progress", "completed", "busy", "no-answer", "failed",
    "canceled",
]  # fmt: skip
PROVIDER_STATUSES: tuple[str, ...] = ProviderStatus.__args__  # type: ignore[attr-defined]

_UNANSWERED: dict[str, Outcome] = {
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "failed",  # withdrawn before it was answered: no conversation
}


def is_machine(answered_by: str | None) -> bool:
    """Twilio's AnsweredBy: human, machine_start, machine_end_beep/silence/other, fax, unknown."""
    return bool(answered_by) and (answered_by.startswith("machine") or answered_by == "fax")  # type: ignore[union-attr]


def outcome(status: str, answered_by: str | None = None) -> Outcome | None:
    """The leg's outcome from one report (None: nothing decided yet, e.g. ringing)."""
    if status in ("in-progress", "completed"):  # completed: it was answered, then ended
        return "machine" if is_machine(answered_by) else "answered"
    return _UNANSWERED.get(status)


@dataclass(frozen=True)
class Leg:
    call_id: str
    number: str
    queue_id: str = ""
    campaign_id: str | None = None
    contact_id: str | None = None
    agent_id: str | None = None
    placed_at: datetime | None = None
    outcome: Outcome | None = None
    ended: bool = False  # the answered callee hung up (CallHungUp emitted)
    abandoned: bool = False  # routing played the mandatory message (no agent in time)


def report(leg: Leg, status: str, answered_by: str | None, now: datetime) -> list[Event]:
    """The events of a provider's report: the leg's outcome once, its end once.

    Retried or repeated reports (Twilio retries, answered then completed) add nothing.
    """
    events: list[Event] = []
    decided = outcome(status, answered_by)
    if leg.outcome is None and decided is not None:
        ring = (now - leg.placed_at).total_seconds() if leg.placed_at else 0.0
        events.append(
            OutboundCallStatus(
                call_id=leg.call_id,
                status=decided,
                number=leg.number,
                at=now,
                campaign_id=leg.campaign_id,
                contact_id=leg.contact_id,
                ring=max(0.0, ring),
            )
        )
        leg = replace(leg, outcome=decided)
    if status == "completed" and leg.outcome == "answered" and not leg.ended:
        # the callee hung up (or the call ended): routing ends its side
        events.append(CallHungUp(call_id=leg.call_id, by="caller", at=now))
    return events


def evolve(leg: Leg, event: Event) -> Leg:
    match event:
        case OutboundCallStatus():
            return replace(leg, outcome=event.status)
        case CallHungUp():
            return replace(leg, ended=True)
    return leg


def connect(leg: Leg, abandon_message: str, language: str = "en-US") -> list[Instruction]:
    """What an answered leg is told: hang up on a machine, the mandatory message when
    routing found no agent in time, else to the agent routing reserved or the queue."""
    if leg.outcome == "machine":
        return [Hangup()]
    if leg.abandoned:
        return [Say(text=abandon_message, language=language), Hangup()]
    if leg.agent_id:
        return [Connect(agent_id=leg.agent_id, queue=leg.queue_id)]
    return [Enqueue(queue=leg.queue_id, skills={}, priority=0)]


def twilio_create_call(
    *,
    to: str,
    caller_id: str,
    answer_url: str,
    status_url: str,
    timeout: float,
    detect_machine: bool,
) -> list[tuple[str, str]]:
    """The form of Twilio's "create call" request (``POST /2010-04-01/Accounts/{sid}/Calls.json``),
    as Twilio's own client would send it."""
    form = [
        ("To", to),
        ("From", caller_id),
        ("StatusCallback", status_url),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
        ("StatusCallbackMethod", "POST"),
        ("Timeout", str(max(1, min(600, round(timeout))))),
    ]
    if detect_machine:
        form.append(("MachineDetection", "Enable"))
    form += [("Url", answer_url), ("Method", "POST")]
    return form
