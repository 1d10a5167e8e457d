from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from callcenter.events.kit.openapi_links import links_passing
from callcenter.events.kit.problems import ProblemError
from callcenter.routing.api.deps import AcdDep, Reader, Supervisor, refusals_as_problems
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import QueueConfig
from callcenter.routing.domain.decide import call_view
from callcenter.routing.domain.state import STAFFED

router = APIRouter(tags=["queues"])
QueueId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class QueueOut(BaseModel):
    id: str
    config: QueueConfig


class QueueLive(BaseModel):
    id: str
    waiting: int
    offered: int
    longest_wait: float | None
    agents: dict[str, int]
    calls: list[dict[str, Any]]


@router.put(
    "/queues/{queue_id}",
    response_model=QueueOut,
    summary="Create or replace a queue",
    responses={
        200: {
            "links": links_passing(
                "queue_id",
                "$request.path.queue_id",
                GetQueue="get_queue_v1_queues__queue_id__get",
                QueueLive="queue_live_v1_queues__queue_id__live_get",
                DeleteQueue="delete_queue_v1_queues__queue_id__delete",
            )
        }
    },
)
async def put_queue(queue_id: QueueId, config: QueueConfig, principal: Supervisor, acd: AcdDep):
    with refusals_as_problems():
        await acd.execute(
            principal.tenant, cmd.ConfigureQueue(queue_id, config), correlation_id=queue_id
        )
    return QueueOut(id=queue_id, config=config)


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(principal: Reader, acd: AcdDep):
    state = await acd.state(principal.tenant)
    return [
        QueueOut(id=q.id, config=q.config)
        for q in sorted(state.queues.values(), key=lambda q: q.id)
    ]


@router.get("/queues/{queue_id}", response_model=QueueOut)
async def get_queue(queue_id: QueueId, principal: Reader, acd: AcdDep):
    state = await acd.state(principal.tenant)
    queue = state.queues.get(queue_id)
    if queue is None:
        raise ProblemError(404, "Not found", f"queue {queue_id!r} does not exist")
    return QueueOut(id=queue.id, config=queue.config)


@router.delete("/queues/{queue_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_queue(queue_id: QueueId, principal: Supervisor, acd: AcdDep) -> None:
    with refusals_as_problems():
        await acd.execute(principal.tenant, cmd.RemoveQueue(queue_id), correlation_id=queue_id)


@router.get("/queues/{queue_id}/live", response_model=QueueLive, summary="Who waits, who serves")
async def queue_live(queue_id: QueueId, principal: Reader, acd: AcdDep):
    state = await acd.state(principal.tenant)
    queue = state.queues.get(queue_id)
    if queue is None:
        raise ProblemError(404, "Not found", f"queue {queue_id!r} does not exist")
    now = datetime.now(UTC)
    calls = [state.calls[call_id] for _, call_id in queue.order]
    waits = [(now - call.enqueued_at).total_seconds() for call in calls]
    agents: dict[str, int] = {}
    for agent in state.agents.values():
        if agent.status in STAFFED or agent.status == "not_ready":
            agents[agent.status] = agents.get(agent.status, 0) + 1
    return QueueLive(
        id=queue.id,
        waiting=sum(1 for call in calls if call.status == "waiting"),
        offered=sum(1 for call in calls if call.status == "offered"),
        longest_wait=round(max(waits), 1) if waits else None,
        agents=agents,
        calls=[call_view(state, call, now) for call in calls],
    )
