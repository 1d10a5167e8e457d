"""``/v1/numbers``: which flow version answers a dialed number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from callcenter.events.envelope import format_time
from callcenter.events.kit.problems import ProblemError
from callcenter.ivr.api.deps import Designer, IvrDep, Viewer, bad_field
from callcenter.ivr.store import queries
from callcenter.ivr.store.queries import Binding

Number = Annotated[str, Path(pattern=r"^\+?[0-9]{3,20}$", description="E.164, e.g. +15550100")]

router = APIRouter(tags=["numbers"])


class NumberBinding(BaseModel):
    flow_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    version: int = Field(
        ge=1, le=2**31 - 1, description="a published version: calls keep the one they start on"
    )


class BoundNumber(NumberBinding):
    number: str


@router.put(
    "/numbers/{number}", response_model=BoundNumber, summary="Bind a number to a flow version"
)
async def bind(
    number: Number, body: NumberBinding, principal: Designer, ivr: IvrDep
) -> BoundNumber:
    async with ivr.db.transaction() as conn:
        current = await queries.binding(conn, number)
        if current is not None and current.tenant != principal.tenant:
            raise ProblemError(409, "Number taken", f"number {number} belongs to another tenant")
        if await queries.flow_version(conn, principal.tenant, body.flow_id, body.version) is None:
            raise bad_field("body.version", f"flow {body.flow_id!r} has no version {body.version}")
        bound = Binding(number, principal.tenant, body.flow_id, body.version)
        await queries.bind_number(conn, bound, format_time(datetime.now(UTC)))
    ivr.bindings.forget(number)
    return BoundNumber(number=number, flow_id=body.flow_id, version=body.version)


@router.get("/numbers/{number}", response_model=BoundNumber, summary="The flow a number runs")
async def get_number(number: Number, principal: Viewer, ivr: IvrDep) -> BoundNumber:
    async with ivr.db.read() as conn:
        bound = await queries.binding(conn, number)
    if bound is None or bound.tenant != principal.tenant:
        raise ProblemError(404, "Unknown number", f"number {number} is not bound")
    return BoundNumber(number=number, flow_id=bound.flow_id, version=bound.flow_version)
