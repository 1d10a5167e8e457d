"""Where a caller who left the IVR is, as routing tells it, and what the caller does next.

Pure: ``follow(connection, event) -> connection``. Routing owns the call once it
is queued; the IVR edge only has to know what the telephony side must do with
the caller when routing's view changes:

- answered by an agent: connected (the provider bridges; nothing to say);
- transferred blind to a queue or an agent: the caller waits again (enqueue);
- transferred after a consult or into a conference: the caller is already
  with the second agent, nothing changes;
- transferred to an external number: the caller is connected to it (transfer);
- the agent's part ended with ``transferred``: the caller stays (no hang-up);
- ended for good: the caller is hung up (or, when sampled, surveyed first).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from callcenter.events.catalogue import Event
from callcenter.events.catalogue.routing import (
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
)
from callcenter.ivr.domain.instructions import Enqueue, Hangup, Instruction, Transfer

State = Literal["queued", "connected", "transferring", "external", "ended"]


@dataclass(frozen=True)
class Connection:
    call_id: str
    state: State = "queued"
    queue_id: str = ""
    agent_id: str | None = None
    # The agent whose part ended last, and the queue of that part (a survey's).
    last_agent_id: str | None = None
    ended_by: str | None = None
    # What the caller does next; None: nothing new (stay where you are).
    instructions: tuple[Instruction, ...] | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "queue_id": self.queue_id,
            "agent_id": self.agent_id,
            "last_agent_id": self.last_agent_id,
            "ended_by": self.ended_by,
            "instructions": None
            if self.instructions is None
            else [item.model_dump(mode="json") for item in self.instructions],
        }


def follow(connection: Connection | None, event: Event) -> Connection | None:
    """The caller's connection after routing's ``event`` (None: not one we follow)."""
    call_id = getattr(event, "call_id", None)
    if call_id is None:
        return connection
    current = connection or Connection(call_id=call_id)
    match event:
        case CallQueued() if current.state == "transferring":
            # Routing queued the transferred caller; the provider has yet to put them there.
            return replace(
                current,
                queue_id=event.queue_id,
                instructions=(Enqueue(queue=event.queue_id, skills={}, priority=0),),
            )
        case CallQueued():
            return replace(
                current, state="queued", queue_id=event.queue_id, agent_id=None, instructions=None
            )
        case CallAnswered():
            return replace(
                current,
                state="connected",
                queue_id=event.queue_id or current.queue_id,
                agent_id=event.agent_id,
                instructions=None,
            )
        case CallTransferred():
            return _transferred(current, event)
        case CallEnded() if event.transferred:
            # Only the agent's part ended: the caller stays, with whoever has them now.
            agent = None if current.agent_id == event.agent_id else current.agent_id
            return replace(
                current,
                agent_id=agent,
                last_agent_id=event.agent_id,
                queue_id=current.queue_id or event.queue_id,
            )
        case CallEnded():
            return replace(
                current,
                state="ended",
                agent_id=None,
                last_agent_id=event.agent_id,
                queue_id=event.queue_id or current.queue_id,
                ended_by=event.ended_by,
                instructions=(Hangup(),),
            )
    return connection


def _transferred(current: Connection, event: CallTransferred) -> Connection:
    queue = event.queue_id or current.queue_id
    match event.kind:
        case "external":
            if not event.number:
                return current  # nothing to dial: routing would not send this
            return replace(
                current,
                state="external",
                queue_id=queue,
                instructions=(Transfer(number=event.number),),
            )
        case "consult" | "conference":
            # The caller is already talking with the agent consulted (or conferenced).
            return replace(
                current,
                state="connected",
                queue_id=event.to_queue_id or queue,
                agent_id=event.to_agent_id or current.agent_id,
                instructions=None,
            )
    # Blind: the caller waits again, in the new queue or for the agent chosen.
    target = event.to_queue_id or queue
    return replace(
        current,
        state="transferring",
        queue_id=target,
        agent_id=None,
        instructions=(Enqueue(queue=target, skills={}, priority=0),),
    )
