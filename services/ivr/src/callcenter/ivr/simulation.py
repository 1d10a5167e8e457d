"""Run a flow without a phone: scripted inputs in, path and instructions out. Nothing is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from callcenter.ivr.calls import DipPerformer
from callcenter.ivr.domain.engine import (
    CallState,
    Command,
    CommandRejected,
    DipCompleted,
    HangUp,
    Input,
    RecordingCompleted,
    StartCall,
    decide_and_evolve,
)
from callcenter.ivr.domain.flow import Flow, HttpNode
from callcenter.ivr.domain.instructions import Instruction, instructions


@dataclass
class Step:
    input: dict[str, object] | None
    events: list[dict[str, object]]
    instructions: list[Instruction]
    error: str | None = None


@dataclass
class Simulation:
    state: CallState
    steps: list[Step] = field(default_factory=list)


async def simulate(
    flow: Flow,
    flow_id: str,
    version: int,
    script: list[dict[str, object]],
    *,
    now: datetime,
    ani: str,
    dnis: str,
    mocked_dips: Mapping[str, DipCompleted],
    dip: DipPerformer,
) -> Simulation:
    state = CallState(flow=flow)
    run = Simulation(state)
    state = await _step(run, None, StartCall("simulated", ani, dnis, flow_id, version), now)
    state = await _dips(run, mocked_dips, dip, now)
    for item in script:
        command = _command(item)
        try:
            await _step(run, item, command, now)
        except CommandRejected as error:
            run.steps.append(Step(item, [], [], error=error.detail))
            break
        await _dips(run, mocked_dips, dip, now)
    return run


def _command(item: Mapping[str, object]) -> Command:
    if item.get("hangup"):
        return HangUp(by="caller")
    if "recording_url" in item:
        return RecordingCompleted(str(item["recording_url"]), float(item.get("duration", 0)))  # type: ignore[arg-type]
    return Input(digits=str(item.get("digits") or ""), timeout=bool(item.get("timeout")))


async def _step(
    run: Simulation, item: dict[str, object] | None, command: Command, now: datetime
) -> CallState:
    decision = decide_and_evolve(command, run.state, now)
    run.state = decision.after
    run.steps.append(
        Step(
            item,
            [{"type": e.event_type, **e.model_dump(mode="json")} for e in decision.events],
            instructions(decision),
        )
    )
    return run.state


async def _dips(
    run: Simulation, mocked: Mapping[str, DipCompleted], dip: DipPerformer, now: datetime
) -> CallState:
    while run.state.awaiting == "dip" and isinstance(run.state.node, HttpNode):
        node_id = run.state.node_id or ""
        result = mocked.get(node_id) or await dip(run.state.node, dict(run.state.variables))
        await _step(run, {"dip": node_id, "outcome": result.outcome}, result, now)
    return run.state
