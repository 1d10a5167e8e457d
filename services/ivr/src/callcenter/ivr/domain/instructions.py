"""What the telephony side is told to do next: a small JSON vocabulary.

Derived from the events a command produced (``instructions``), so the answer to
a request and the recorded history cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import (
    CallbackOfferAccepted,
    CallEnqueueRequested,
    CallHungUp,
    IvrInputInvalid,
    IvrInputReceived,
    IvrNodeEntered,
    VoicemailRecorded,
)
from callcenter.ivr.domain.engine import CallState, Decision
from callcenter.ivr.domain.flow import (
    CallbackNode,
    CollectNode,
    EnqueueNode,
    MenuNode,
    Prompt,
    TransferNode,
    VoicemailNode,
)
from callcenter.ivr.domain.templates import render


class Say(BaseModel):
    type: Literal["say"] = "say"
    text: str
    language: str
    voice: str | None = None


class Play(BaseModel):
    type: Literal["play"] = "play"
    url: str


class Gather(BaseModel):
    type: Literal["gather"] = "gather"
    min_digits: int
    max_digits: int
    finish_key: str
    timeout: float
    prompts: list[Say | Play]


class Enqueue(BaseModel):
    type: Literal["enqueue"] = "enqueue"
    queue: str
    skills: dict[str, int]
    priority: int
    hold_music: str | None = None


class Record(BaseModel):
    type: Literal["record"] = "record"
    max_length: int
    finish_key: str


class Transfer(BaseModel):
    type: Literal["transfer"] = "transfer"
    number: str


class Connect(BaseModel):
    """Connect the call to the agent routing reserved for it (Twilio: ``<Dial><Client>``)."""

    type: Literal["connect"] = "connect"
    agent_id: str
    queue: str = ""


class Hangup(BaseModel):
    type: Literal["hangup"] = "hangup"


Instruction = Annotated[
    Say | Play | Gather | Enqueue | Record | Transfer | Connect | Hangup,
    Field(discriminator="type"),
]


class Answer(BaseModel):
    """What a call command is answered: where the call is, and what to do next."""

    call_id: str
    status: str
    node_id: str | None
    awaiting: str | None
    outcome: str | None
    # Counts the call's node visits and inputs: names the step a gather answers
    # (a provider's retried webhook carries the same step).
    step: int
    instructions: list[Instruction]


def answer(state: CallState, said: list[Instruction]) -> Answer:
    return Answer(
        call_id=state.call_id,
        status=state.status,
        node_id=state.node_id,
        awaiting=state.awaiting,
        outcome=state.outcome,
        step=state.steps,
        instructions=said,
    )


def instructions(decision: Decision) -> list[Instruction]:
    """The instructions for a decision's events, each from the state it was decided in."""
    out: list[Instruction] = []
    for state, event in zip(decision.states, decision.events, strict=True):
        out.extend(_for_event(state, event))
    if decision.after.awaiting not in ("input", "confirm"):
        # the call went on after a prompt for keys (it ran out of steps): do not wait
        out = [item for item in out if not isinstance(item, Gather)]
    return out


def _for_event(state: CallState, event: Event) -> list[Instruction]:
    flow = state.flow
    match event:
        case IvrNodeEntered():
            node = flow.nodes[event.node_id]
            prompts = spoken(state, node.prompts)
            match node:
                case MenuNode() | CollectNode() | CallbackNode():
                    return [_gather(node, prompts)]
                case VoicemailNode():
                    return [
                        *prompts,
                        Record(max_length=node.max_length, finish_key=node.finish_key),
                    ]
                case TransferNode():
                    return [*prompts, Transfer(number=node.number)]
            return list(prompts)
        case IvrInputReceived() if state.awaiting == "input":
            node = state.node
            if isinstance(node, CollectNode) and node.confirm:
                variables = {**state.variables, "value": " ".join(event.digits)}
                prompts = spoken(state, node.confirm_prompts, variables)
                return [
                    Gather(
                        min_digits=1,
                        max_digits=1,
                        finish_key="",
                        timeout=node.timeout,
                        prompts=prompts,
                    )
                ]
        case IvrInputInvalid():
            node = state.node
            assert isinstance(node, MenuNode | CollectNode)
            sorry = node.no_input_prompts if event.timeout else node.invalid_prompts
            out: list[Instruction] = list(spoken(state, sorry))
            if event.attempt < node.max_attempts:
                out.append(_gather(node, spoken(state, node.prompts)))
            return out
        case CallEnqueueRequested():
            return [
                Enqueue(
                    queue=event.queue_id,
                    skills=event.skills,
                    priority=event.priority,
                    hold_music=event.hold_music,
                )
            ]
        case CallbackOfferAccepted():
            node = state.node
            if isinstance(node, EnqueueNode) and node.callback is not None:
                # accepted while queued: routing keeps the place; the caller may go
                return [*spoken(state, node.callback.accepted_prompts), Hangup()]
            assert isinstance(node, CallbackNode)
            return list(spoken(state, node.accepted_prompts))
        case VoicemailRecorded():
            node = state.node
            assert isinstance(node, VoicemailNode)
            return list(spoken(state, node.thanks_prompts))
        case CallHungUp() if event.by == "system":
            return [Hangup()]
    return []


def spoken(
    state: CallState, prompts: Sequence[Prompt], variables: Mapping[str, str] | None = None
) -> list[Say | Play]:
    values = state.variables if variables is None else variables
    language = values.get("language") or state.flow.language
    out: list[Say | Play] = []
    for prompt in prompts:
        if prompt.play is not None:
            out.append(Play(url=render(prompt.play, values)))
        else:
            out.append(
                Say(
                    text=render(prompt.say or "", values),
                    language=prompt.language or language,
                    voice=prompt.voice or state.flow.voice,
                )
            )
    return out


def _gather(node: MenuNode | CollectNode | CallbackNode, prompts: list[Say | Play]) -> Gather:
    match node:
        case MenuNode():
            lengths = [len(digits) for digits in node.choices]
            varying = min(lengths) != max(lengths) and "#" not in node.choices
            return Gather(
                min_digits=min(lengths),
                max_digits=max(lengths),
                finish_key="#" if varying else "",
                timeout=node.timeout,
                prompts=prompts,
            )
        case CollectNode():
            return Gather(
                min_digits=node.min_digits,
                max_digits=node.max_digits,
                finish_key=node.finish_key,
                timeout=node.timeout,
                prompts=prompts,
            )
    return Gather(
        min_digits=len(node.accept_digit),
        max_digits=len(node.accept_digit),
        finish_key="",
        timeout=node.timeout,
        prompts=prompts,
    )
