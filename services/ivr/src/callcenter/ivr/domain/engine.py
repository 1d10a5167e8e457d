"""The flow engine as a decider: ``decide(command, state, now) -> events``, ``evolve``.

Pure: no I/O, no clock. A data dip is a state (``awaiting == "dip"``): the shell
calls the URL and feeds the answer back as ``DipCompleted``. A call keeps the
flow version it started with (``state.flow``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from callcenter.events.catalogue import Event
from callcenter.events.catalogue.ivr import (
    CallArrived,
    CallbackOfferAccepted,
    CallEnqueueRequested,
    CallHungUp,
    IvrCompleted,
    IvrDataDipCompleted,
    IvrInputInvalid,
    IvrInputReceived,
    IvrNodeEntered,
    IvrVariablesSet,
    VoicemailRecorded,
)
from callcenter.ivr.domain.flow import (
    CallbackNode,
    CollectNode,
    ConditionNode,
    EnqueueNode,
    Flow,
    HangupNode,
    HoursNode,
    HttpNode,
    MenuNode,
    Node,
    Rule,
    SayNode,
    SetNode,
    TransferNode,
)
from callcenter.ivr.domain.hours import is_open
from callcenter.ivr.domain.templates import extract, render

Status = Literal["new", "in_ivr", "left_ivr", "ended"]
Awaiting = Literal["input", "confirm", "recording", "dip"]

_WAITS: dict[str, Awaiting] = {
    "menu": "input",
    "collect": "input",
    "callback": "input",
    "voicemail": "recording",
    "http": "dip",
}


# -- commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class StartCall:
    call_id: str
    ani: str
    dnis: str
    flow_id: str
    flow_version: int
    channel: Literal["voice", "callback", "outbound"] = "voice"


@dataclass(frozen=True)
class Input:
    """Keys the caller pressed; no keys (or ``timeout``) means the caller said nothing."""

    digits: str = ""
    timeout: bool = False

    @property
    def silent(self) -> bool:
        return self.timeout or not self.digits


@dataclass(frozen=True)
class DipCompleted:
    outcome: Literal["ok", "error", "timeout"]
    body: Any = None
    elapsed: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class RecordingCompleted:
    url: str
    duration: float


@dataclass(frozen=True)
class HangUp:
    by: Literal["caller", "system"] = "caller"
    reason: str | None = None  # e.g. "max_age": the provider never told us the call ended


Command = StartCall | Input | DipCompleted | RecordingCompleted | HangUp


class CommandRejected(Exception):
    """The command does not fit the call's state; nothing happened."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# -- state ------------------------------------------------------------------------


@dataclass(frozen=True)
class CallState:
    flow: Flow
    call_id: str = ""
    flow_id: str = ""
    flow_version: int = 0
    started_at: datetime | None = None
    status: Status = "new"
    node_id: str | None = None
    awaiting: Awaiting | None = None
    attempt: int = 1
    steps: int = 0
    pending: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    path: tuple[str, ...] = ()
    outcome: str | None = None
    queue_id: str | None = None
    hung_up_by: str | None = None
    callback_number: str | None = None

    @property
    def node(self) -> Node | None:
        return self.flow.nodes.get(self.node_id) if self.node_id else None

    def snapshot(self) -> dict[str, Any]:
        """JSON of everything but the flow (stored beside the call; the flow is by version)."""
        return {
            "call_id": self.call_id,
            "flow_id": self.flow_id,
            "flow_version": self.flow_version,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "status": self.status,
            "node_id": self.node_id,
            "awaiting": self.awaiting,
            "attempt": self.attempt,
            "steps": self.steps,
            "pending": self.pending,
            "variables": dict(self.variables),
            "path": list(self.path),
            "outcome": self.outcome,
            "queue_id": self.queue_id,
            "hung_up_by": self.hung_up_by,
            "callback_number": self.callback_number,
        }

    @classmethod
    def from_snapshot(cls, flow: Flow, data: Mapping[str, Any]) -> CallState:
        started = data.get("started_at")
        return cls(
            flow=flow,
            **{
                **data,
                "started_at": datetime.fromisoformat(started) if started else None,
                "variables": dict(data["variables"]),
                "path": tuple(data["path"]),
            },
        )


def _with(state: CallState, **changes: Any) -> CallState:
    """``dataclasses.replace`` without running ``__init__`` over all the fields again (a
    fifth of the cost): ``evolve`` runs for every event of every call."""
    changed = object.__new__(CallState)
    changed.__dict__.update(state.__dict__, **changes)
    return changed


def evolve(state: CallState, event: Event) -> CallState:
    match event:
        case CallArrived():
            builtins = {"call_id": event.call_id, "ani": event.ani, "dnis": event.dnis}
            return _with(
                state,
                call_id=event.call_id,
                flow_id=event.flow_id or "",
                flow_version=event.flow_version or 0,
                started_at=event.at,
                status="in_ivr",
                variables=builtins,
            )
        case IvrNodeEntered():
            return _with(
                state,
                node_id=event.node_id,
                awaiting=_WAITS.get(event.node_type),
                attempt=1,
                pending=None,
                steps=state.steps + 1,
                path=(*state.path, event.node_id),
            )
        case IvrInputReceived():
            node = state.node
            confirming = (
                isinstance(node, CollectNode) and node.confirm and state.awaiting == "input"
            )
            return _with(
                state,
                steps=state.steps + 1,
                awaiting="confirm" if confirming else None,
                pending=event.digits if confirming else None,
            )
        case IvrInputInvalid():
            return _with(state, steps=state.steps + 1, attempt=event.attempt + 1)
        case IvrVariablesSet():
            return _with(state, variables={**state.variables, **event.variables})
        case CallbackOfferAccepted():
            return _with(state, awaiting=None, callback_number=event.number)
        case IvrDataDipCompleted() | VoicemailRecorded():
            return _with(state, awaiting=None)
        case CallEnqueueRequested():
            return _with(state, queue_id=event.queue_id)
        case IvrCompleted():
            return _with(state, status="left_ivr", awaiting=None, outcome=event.outcome)
        case CallHungUp():
            return _with(state, status="ended", awaiting=None, hung_up_by=event.by)
    return state


# -- decide -----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The events a command led to, the state each of them was decided in (``evolve``
    had it before the event: what the caller is told depends on it), and the state
    after them all."""

    events: list[Event]
    states: list[CallState]
    after: CallState


class _Run:
    """Events decided so far, the states they were decided in, and where they lead."""

    def __init__(self, state: CallState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.events: list[Event] = []
        self.states: list[CallState] = []

    def emit(self, *events: Event) -> None:
        for event in events:
            self.events.append(event)
            self.states.append(self.state)
            self.state = evolve(self.state, event)

    @property
    def call_id(self) -> str:
        return self.state.call_id


def decide(command: Command, state: CallState, now: datetime) -> list[Event]:
    return decide_and_evolve(command, state, now).events


def decide_and_evolve(command: Command, state: CallState, now: datetime) -> Decision:
    """The events ``command`` leads to, and the states ``evolve`` goes through."""
    run = _Run(state, now)
    match command:
        case StartCall():
            if state.status != "new":
                raise CommandRejected("exists", f"call {command.call_id!r} already exists")
            run.emit(
                CallArrived(
                    call_id=command.call_id,
                    ani=command.ani,
                    dnis=command.dnis,
                    channel=command.channel,
                    flow_id=command.flow_id,
                    flow_version=command.flow_version,
                    at=now,
                )
            )
            _enter(run, state.flow.start)
        case HangUp():
            if state.status == "ended":
                raise CommandRejected("ended", "the call has already ended")
            if state.status == "in_ivr":
                _complete(run, "hung_up")
            run.emit(
                CallHungUp(call_id=state.call_id, by=command.by, at=now, reason=command.reason)
            )
        case Input() if _holding(state):
            _on_hold_input(run, command)
        case Input():
            _expect(state, "input", "confirm")
            _on_input(run, command)
        case DipCompleted():
            _expect(state, "dip")
            _on_dip(run, command)
        case RecordingCompleted():
            _expect(state, "recording")
            run.emit(
                VoicemailRecorded(
                    call_id=state.call_id,
                    recording_uri=command.url,
                    duration=command.duration,
                    customer_id=state.variables.get("customer_id"),
                ),
            )
            _complete(run, "voicemail")
            run.emit(CallHungUp(call_id=state.call_id, by="system", at=now))
    return Decision(run.events, run.states, run.state)


def _expect(state: CallState, *awaiting: Awaiting) -> None:
    if state.status == "ended":
        raise CommandRejected("ended", "the call has ended")
    if state.status == "left_ivr":
        raise CommandRejected("left_ivr", f"the call has left the IVR ({state.outcome})")
    if state.awaiting not in awaiting:
        waiting = state.awaiting or "nothing"
        raise CommandRejected(
            "not_expected", f"node {state.node_id!r} is waiting for {waiting}, not {awaiting[0]}"
        )


def _holding(state: CallState) -> bool:
    """Queued by an enqueue node that offers a callback."""
    node = state.node
    return (
        state.status == "left_ivr" and isinstance(node, EnqueueNode) and node.callback is not None
    )


def _on_hold_input(run: _Run, command: Input) -> None:
    """Keys while queued: the callback offer's digit keeps the place and ends the call."""
    state = run.state
    node = state.node
    assert isinstance(node, EnqueueNode) and node.callback is not None
    if command.silent or command.digits != node.callback.accept_digit:
        raise CommandRejected(
            "not_expected", f"in the queue only {node.callback.accept_digit!r} (a callback) counts"
        )
    number = render(node.callback.number, state.variables)
    run.emit(
        CallbackOfferAccepted(call_id=state.call_id, number=number, queue_id=state.queue_id or ""),
        # as routing expects: the caller keeps their place and hangs up (we tell them to)
        CallHungUp(call_id=state.call_id, by="caller", at=run.now),
    )


def _complete(run: _Run, outcome: str) -> None:
    started = run.state.started_at or run.now
    duration = max(0.0, (run.now - started).total_seconds())
    run.emit(IvrCompleted(call_id=run.call_id, outcome=outcome, duration=duration))  # type: ignore[arg-type]


def _out_of_steps(run: _Run) -> bool:
    """The flow's bound: a call that used up its steps is ended, whatever the caller does."""
    if run.state.steps < run.state.flow.max_steps:
        return False
    _complete(run, "hung_up")
    run.emit(CallHungUp(call_id=run.call_id, by="system", at=run.now))
    return True


def _enter(run: _Run, node_id: str) -> None:
    """Enter a node and go on through the nodes that do not wait."""
    flow = run.state.flow
    while not _out_of_steps(run):
        node = flow.nodes[node_id]
        run.emit(IvrNodeEntered(call_id=run.call_id, node_id=node_id, node_type=node.type))
        variables = run.state.variables
        match node:
            case SetNode():
                values = {name: render(value, variables) for name, value in node.variables.items()}
                run.emit(IvrVariablesSet(call_id=run.call_id, node_id=node_id, variables=values))
                node_id = node.next
            case ConditionNode():
                node_id = next(
                    (rule.next for rule in node.rules if _holds(rule, variables)), node.otherwise
                )
            case HoursNode():
                node_id = node.open if is_open(node, run.now) else node.closed
            case EnqueueNode():
                run.emit(_enqueue_request(run.state, node))
                _complete(run, "queued")
                return
            case TransferNode():
                _complete(run, "transferred")
                return
            case HangupNode():
                _complete(run, node.outcome)
                run.emit(CallHungUp(call_id=run.call_id, by="system", at=run.now))
                return
            case SayNode():
                node_id = node.next
            case _:
                return  # waits: for keys, a recording or a data dip


def _on_input(run: _Run, command: Input) -> None:
    state = run.state
    node = state.node
    received = IvrInputReceived(
        call_id=state.call_id,
        node_id=state.node_id or "",
        node_type=node.type if node else "",
        digits=command.digits,
        timeout=command.silent,
        attempt=state.attempt,
    )
    match node:
        case MenuNode():
            choice = None if command.silent else node.choices.get(command.digits)
            if choice is None:
                _invalid(run, node, command)
                return
            run.emit(received)
            if choice.set:
                values = {
                    name: render(value, state.variables) for name, value in choice.set.items()
                }
                run.emit(
                    IvrVariablesSet(call_id=state.call_id, node_id=state.node_id, variables=values)
                )
            _enter(run, choice.next)
        case CollectNode() if state.awaiting == "confirm":
            run.emit(received)
            if command.digits == "1":
                _collected(run, node, state.pending or "")
            else:
                _enter(run, state.node_id or "")  # enter it again
        case CollectNode():
            if command.silent or not _valid_entry(node, command.digits):
                _invalid(run, node, command)
                return
            run.emit(received)
            if not node.confirm:
                _collected(run, node, command.digits)
        case CallbackNode():
            run.emit(received)
            if not command.silent and command.digits == node.accept_digit:
                number = render(node.number, state.variables)
                run.emit(
                    CallbackOfferAccepted(call_id=state.call_id, number=number, queue_id=node.queue)
                )
                _complete(run, "callback")
                run.emit(CallHungUp(call_id=state.call_id, by="system", at=run.now))
            else:
                _enter(run, node.next)


def _collected(run: _Run, node: CollectNode, value: str) -> None:
    run.emit(
        IvrVariablesSet(
            call_id=run.call_id, node_id=run.state.node_id or "", variables={node.variable: value}
        )
    )
    _enter(run, node.next)


def _invalid(run: _Run, node: MenuNode | CollectNode, command: Input) -> None:
    state = run.state
    run.emit(
        IvrInputInvalid(
            call_id=state.call_id,
            node_id=state.node_id or "",
            node_type=node.type,
            digits=command.digits,
            timeout=command.silent,
            attempt=state.attempt,
        )
    )
    if state.attempt >= node.max_attempts:
        _enter(run, node.on_failure)
    else:
        _out_of_steps(run)


def _on_dip(run: _Run, command: DipCompleted) -> None:
    state = run.state
    node = state.node
    assert isinstance(node, HttpNode)
    run.emit(
        IvrDataDipCompleted(
            call_id=state.call_id,
            node_id=state.node_id or "",
            outcome=command.outcome,
            elapsed=max(0.0, command.elapsed),
            detail=command.detail[:500],
        )
    )
    if command.outcome != "ok":
        _enter(run, node.on_error)
        return
    found = {name: extract(command.body, path) for name, path in node.results.items()}
    values = {name: value for name, value in found.items() if value is not None}
    if len(values) < len(found):  # an answer without what we need is a failed dip
        _enter(run, node.on_error)
        return
    if values:
        run.emit(IvrVariablesSet(call_id=state.call_id, node_id=state.node_id, variables=values))
    _enter(run, node.next)


def _valid_entry(node: CollectNode, digits: str) -> bool:
    if not (node.min_digits <= len(digits) <= node.max_digits and digits.isdigit()):
        return False
    return node.pattern is None or re.fullmatch(node.pattern, digits) is not None


def _holds(rule: Rule, variables: Mapping[str, str]) -> bool:
    value = variables.get(rule.variable)
    if rule.op == "exists":
        return bool(value)
    if value is None:
        return rule.op == "ne"
    match rule.op:
        case "eq":
            return value == str(rule.value)
        case "ne":
            return value != str(rule.value)
        case "in":
            return isinstance(rule.value, list) and value in rule.value
        case "matches":
            return re.fullmatch(str(rule.value), value) is not None
        case "lt" | "gt":
            try:
                left, right = float(value), float(rule.value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
            return left < right if rule.op == "lt" else left > right
    return False


def _enqueue_request(state: CallState, node: EnqueueNode) -> CallEnqueueRequested:
    variables = state.variables
    skills = {}
    for skill, level in node.skills.items():
        number = _as_int(render(str(level), variables))
        if number is not None:
            skills[render(skill, variables)] = number
    return CallEnqueueRequested(
        call_id=state.call_id,
        queue_id=node.queue,
        skills=skills,
        priority=_as_int(render(str(node.priority), variables)) or 0,
        customer_id=variables.get("customer_id") or None,
        ani=variables.get("ani") or None,
        language=variables.get("language") or state.flow.language,
        attributes=dict(variables),
        hold_music=node.hold_music,
    )


def _as_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
