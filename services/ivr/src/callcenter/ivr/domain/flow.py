"""The flow document: a tenant's voice navigation, as nodes with typed transitions.

A flow is data (JSON or YAML), validated twice: by these models (shape, types,
ranges: pydantic) and by ``validation.check_flow`` (the graph: dangling and
unreachable nodes, loops without exit, unknown queues).
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from callcenter.events.kit.types import TimeZoneName

NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Digits = Annotated[str, Field(pattern=r"^[0-9*#]{1,8}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A value that is either literal or a template such as "{priority}".
Templated = int | Annotated[str, Field(max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(Strict):
    """One thing the caller hears: text to speech (``say``) or a recording (``play``)."""

    say: str | None = Field(default=None, max_length=2000)
    play: str | None = Field(default=None, max_length=2000, description="prompt id or URL")
    language: str | None = Field(default=None, max_length=16)
    voice: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"say": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_of(self) -> Prompt:
        if (self.say is None) == (self.play is None):
            raise ValueError("a prompt has exactly one of 'say' or 'play'")
        return self


Prompts = Annotated[list[Prompt], Field(default_factory=list, max_length=20)]


class NodeBase(Strict):
    prompts: Prompts


class SayNode(NodeBase):
    type: Literal["say"]
    next: NodeId


class Choice(Strict):
    next: NodeId
    set: dict[str, str] = Field(default_factory=dict, description="variables to set")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"next": value} if isinstance(value, str) else value


class Retries(Strict):
    """How a node that waits for keys handles silence and wrong keys."""

    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds")
    max_attempts: int = Field(default=3, ge=1, le=10)
    invalid_prompts: Prompts
    no_input_prompts: Prompts
    on_failure: NodeId


class MenuNode(NodeBase, Retries):
    type: Literal["menu"]
    choices: dict[Digits, Choice] = Field(min_length=1)


class CollectNode(NodeBase, Retries):
    type: Literal["collect"]
    variable: str = Field(min_length=1, max_length=64)
    min_digits: int = Field(default=1, ge=1, le=32)
    max_digits: int = Field(default=32, ge=1, le=32)
    pattern: str | None = Field(default=None, max_length=200, description="regex, full match")
    finish_key: Literal["#", "*", ""] = "#"
    confirm: bool = False
    sensitive: bool = Field(
        default=False,
        description="card numbers and the like: a call's recording pauses while here",
    )
    confirm_prompts: Prompts = Field(
        default_factory=lambda: [
            Prompt(say="You entered {value}. Press 1 to confirm, or 2 to enter it again.")
        ],
        description="'{value}' is what the caller typed",
    )
    next: NodeId

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits must not exceed max_digits")
        return self


class Interval(Strict):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.start >= self.end:
            raise ValueError("an interval's start must be before its end")
        return self


class HoursNode(NodeBase):
    type: Literal["hours"]
    timezone: TimeZoneName
    weekly: dict[Weekday, list[Interval]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list, max_length=400)
    open: NodeId
    closed: NodeId


class HttpNode(NodeBase):
    """A data dip: ask an integrator's URL (or the CRM) and keep parts of the answer."""

    type: Literal["http"]
    url: str = Field(pattern=r"^https?://", max_length=2000, description="may hold {variables}")
    method: Literal["GET", "POST"] = "GET"
    timeout: float = Field(default=2.0, gt=0, le=10, description="seconds")
    send: list[str] = Field(default_factory=list, description="variables sent as parameters")
    results: dict[str, str] = Field(
        default_factory=dict, description="variable -> dotted path in the JSON answer"
    )
    next: NodeId
    on_error: NodeId


class SetNode(NodeBase):
    type: Literal["set"]
    variables: dict[str, str] = Field(min_length=1, description="name -> template")
    next: NodeId


class Rule(Strict):
    variable: str
    op: Literal["eq", "ne", "in", "lt", "gt", "exists", "matches"] = "eq"
    value: str | float | list[str] | None = None
    next: NodeId


class ConditionNode(NodeBase):
    type: Literal["condition"]
    rules: list[Rule] = Field(min_length=1, max_length=50)
    otherwise: NodeId


def _said(*texts: str) -> list[Prompt]:
    return [Prompt(say=text) for text in texts]


class HoldCallback(Strict):
    """While the caller waits in the queue: offer to call them back instead."""

    min_wait: float = Field(
        default=0, ge=0, description="offered when the expected wait (seconds) is at least this"
    )
    accept_digit: Digits = "1"
    number: str = Field(default="{ani}", max_length=64, description="template")
    prompts: Prompts = Field(
        default_factory=lambda: _said("To be called back instead of waiting, press 1.")
    )
    accepted_prompts: Prompts = Field(
        default_factory=lambda: _said("Thank you. You keep your place and we will call you back.")
    )


class EnqueueNode(NodeBase):
    type: Literal["enqueue"]
    queue: str = Field(min_length=1, max_length=100)
    skills: dict[str, Templated] = Field(default_factory=dict, description="skill -> min level")
    priority: Templated = 0
    hold_music: str | None = Field(default=None, max_length=2000)
    # Said while the caller waits, when routing has told the position (and the
    # expected wait: {wait_minutes}); empty lists say nothing.
    position_prompts: Prompts = Field(
        default_factory=lambda: _said("You are number {position} in line.")
    )
    wait_prompts: Prompts = Field(
        default_factory=lambda: _said("Your expected wait is about {wait_minutes} minutes.")
    )
    callback: HoldCallback | None = None


class CallbackNode(NodeBase):
    """Offer a callback: the accept key ends the call with a callback request."""

    type: Literal["callback"]
    timeout: float = Field(default=5.0, gt=0, le=60, description="seconds")
    queue: str = Field(min_length=1, max_length=100)
    number: str = Field(default="{ani}", max_length=64, description="template")
    accept_digit: Digits = "1"
    accepted_prompts: Prompts
    next: NodeId = Field(description="where a caller who declines (or says nothing) goes")


class VoicemailNode(NodeBase):
    type: Literal["voicemail"]
    max_length: int = Field(default=120, ge=1, le=3600, description="seconds")
    finish_key: Literal["#", "*", ""] = "#"
    thanks_prompts: Prompts


class TransferNode(NodeBase):
    type: Literal["transfer"]
    number: str = Field(pattern=r"^\+?[0-9]{3,20}$")


class HangupNode(NodeBase):
    type: Literal["hangup"]
    outcome: Literal["self_served", "hung_up"] = "self_served"


Node = Annotated[
    SayNode
    | MenuNode
    | CollectNode
    | HoursNode
    | HttpNode
    | SetNode
    | ConditionNode
    | EnqueueNode
    | CallbackNode
    | VoicemailNode
    | TransferNode
    | HangupNode,
    Field(discriminator="type"),
]

# Nodes that end the IVR part of a call (a callback offer may, when accepted).
TERMINAL_TYPES = frozenset({"enqueue", "voicemail", "transfer", "hangup"})
EXIT_TYPES = TERMINAL_TYPES | {"callback"}
# Nodes the engine passes through without waiting for the caller or the network.
AUTOMATIC_TYPES = frozenset({"say", "set", "condition", "hours"})


class Flow(Strict):
    name: str = Field(default="", max_length=200)
    start: NodeId
    language: str = Field(default="en-US", max_length=16)
    voice: str | None = Field(default=None, max_length=64)
    max_steps: int = Field(
        default=100, ge=1, le=1000, description="node visits + inputs before the call is ended"
    )
    nodes: dict[NodeId, Node] = Field(min_length=1, max_length=500)


def transitions(node: Node) -> list[tuple[str, str]]:
    """(label, target) of every outgoing transition of a node."""
    match node:
        case SayNode() | SetNode():
            return [("next", node.next)]
        case MenuNode():
            out = [
                (f"choices.{digits}.next", choice.next) for digits, choice in node.choices.items()
            ]
            return [*out, ("on_failure", node.on_failure)]
        case CollectNode():
            return [("next", node.next), ("on_failure", node.on_failure)]
        case HoursNode():
            return [("open", node.open), ("closed", node.closed)]
        case HttpNode():
            return [("next", node.next), ("on_error", node.on_error)]
        case ConditionNode():
            out = [(f"rules.{index}.next", rule.next) for index, rule in enumerate(node.rules)]
            return [*out, ("otherwise", node.otherwise)]
        case CallbackNode():
            return [("next", node.next)]
    return []
