from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from callcenter.events.kit.openapi_links import links_passing
from callcenter.events.kit.problems import ProblemError
from callcenter.routing.api.deps import (
    AcdDep,
    AgentOrSupervisor,
    Reader,
    Supervisor,
    acting_for,
    refusals_as_problems,
)
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import AgentConfig
from callcenter.routing.domain.state import Agent

router = APIRouter(tags=["agents"])
AgentId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class AgentOut(BaseModel):
    id: str
    config: AgentConfig
    status: str
    reason: str | None
    since: Any
    call_id: str | None
    calls_today: int
    misses: int
    state_since: Any


class AgentDetail(AgentOut):
    # Seconds in each status today (UTC), the current one counted up to now.
    seconds_today: dict[str, float]


class NotReadyBody(BaseModel):
    reason: str = Field(default="break", min_length=1, max_length=50)


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        config=agent.config,
        status=agent.status,
        reason=agent.reason,
        since=agent.since,
        call_id=agent.call_id,
        calls_today=agent.calls_today,
        misses=agent.misses,
        state_since=agent.since,
    )


async def _act(acd, principal, agent_id: str, command: cmd.Command) -> AgentOut:
    acting_for(principal, agent_id)
    with refusals_as_problems():
        await acd.execute(principal.tenant, command, correlation_id=agent_id)
    return agent_out((await acd.state(principal.tenant)).agents[agent_id])


@router.put(
    "/agents/{agent_id}",
    response_model=AgentOut,
    summary="Create or replace an agent",
    responses={
        200: {
            "links": links_passing(
                "agent_id",
                "$request.path.agent_id",
                GetAgent="get_agent_v1_agents__agent_id__get",
                LogIn="log_in_v1_agents__agent_id__login_post",
                Ready="ready_v1_agents__agent_id__ready_post",
                NotReady="not_ready_v1_agents__agent_id__not_ready_post",
                LogOut="log_out_v1_agents__agent_id__logout_post",
                GetDesk="get_desk_v1_agents__agent_id__desk_get",
            )
        }
    },
)
async def put_agent(agent_id: AgentId, config: AgentConfig, principal: Supervisor, acd: AcdDep):
    return await _act(acd, principal, agent_id, cmd.ConfigureAgent(agent_id, config))


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(principal: Reader, acd: AcdDep):
    state = await acd.state(principal.tenant)
    return [agent_out(a) for a in sorted(state.agents.values(), key=lambda a: a.id)]


@router.get("/agents/{agent_id}", response_model=AgentDetail,
            summary="An agent, its state since when, and its time in each state today")  # fmt: skip
async def get_agent(agent_id: AgentId, principal: Reader, acd: AcdDep):
    agent = (await acd.state(principal.tenant)).agents.get(agent_id)
    if agent is None:
        raise ProblemError(404, "Not found", f"agent {agent_id!r} does not exist")
    seconds = agent.seconds_today(datetime.now(UTC))
    return AgentDetail(**agent_out(agent).model_dump(), seconds_today=seconds)


@router.post("/agents/{agent_id}/login", response_model=AgentOut)
async def log_in(agent_id: AgentId, principal: AgentOrSupervisor, acd: AcdDep):
    return await _act(acd, principal, agent_id, cmd.LogIn(agent_id))


@router.post("/agents/{agent_id}/ready", response_model=AgentOut)
async def ready(agent_id: AgentId, principal: AgentOrSupervisor, acd: AcdDep):
    return await _act(acd, principal, agent_id, cmd.MakeReady(agent_id))


@router.post("/agents/{agent_id}/not-ready", response_model=AgentOut)
async def not_ready(
    agent_id: AgentId, principal: AgentOrSupervisor, acd: AcdDep, body: NotReadyBody | None = None
):
    reason = (body or NotReadyBody()).reason
    return await _act(acd, principal, agent_id, cmd.MakeNotReady(agent_id, reason))


@router.post("/agents/{agent_id}/logout", response_model=AgentOut)
async def log_out(agent_id: AgentId, principal: AgentOrSupervisor, acd: AcdDep):
    return await _act(acd, principal, agent_id, cmd.LogOut(agent_id))


@router.post("/agents/{agent_id}/wrap-up-done", response_model=AgentOut)
async def wrap_up_done(agent_id: AgentId, principal: AgentOrSupervisor, acd: AcdDep):
    return await _act(acd, principal, agent_id, cmd.FinishWrapUp(agent_id))
