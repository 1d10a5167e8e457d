"""What a caller waiting in a queue hears: position, expected wait, a callback offer, music.

The position and expected wait are routing's (its ``CallQueued``, the position
kept current as calls ahead leave the queue; the wait counted down since). A
provider's own queue position (Twilio's ``QueuePosition``) stands in when
routing has not told us yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from callcenter.ivr.domain.engine import CallState
from callcenter.ivr.domain.flow import EnqueueNode
from callcenter.ivr.domain.instructions import Gather, Instruction, Play, spoken
from callcenter.ivr.store.queries import Waiting


class NotQueued(LookupError):
    """The call is not waiting in a queue."""


@dataclass(frozen=True)
class Hold:
    queue_id: str
    position: int | None
    ewt: float | None  # seconds still to wait, estimated
    callback_offered: bool
    instructions: list[Instruction]


def on_hold(
    state: CallState,
    told: Waiting | None,
    now: float,
    *,
    music: str,
    provider_position: int | None = None,
) -> Hold:
    node = state.node
    if state.status != "left_ivr" or state.outcome != "queued" or not isinstance(node, EnqueueNode):
        raise NotQueued(f"call {state.call_id!r} is not waiting in a queue")
    position = told.position if told else provider_position
    ewt = None
    if told is not None and told.ewt is not None:
        ewt = max(0.0, told.ewt - max(0.0, now - told.queued_at))
    variables = dict(state.variables)
    said: list[Instruction] = []
    if position is not None:
        variables["position"] = str(position)
        said += spoken(state, node.position_prompts, variables)
    if ewt is not None:
        variables["wait_minutes"] = str(max(1, math.ceil(ewt / 60)))
        said += spoken(state, node.wait_prompts, variables)
    offer = node.callback
    offered = offer is not None and (ewt if ewt is not None else 0.0) >= offer.min_wait
    if offered:
        assert offer is not None
        digits = len(offer.accept_digit)
        prompts = spoken(state, offer.prompts, variables)
        said.append(
            Gather(min_digits=digits, max_digits=digits, finish_key="", timeout=5, prompts=prompts)
        )
    said.append(Play(url=node.hold_music or music))
    return Hold(
        told.queue_id if told else state.queue_id or node.queue, position, ewt, offered, said
    )
