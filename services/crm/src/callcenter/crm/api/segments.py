from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from callcenter.crm import segments
from callcenter.crm.api.deps import RuntimeDep
from callcenter.events.envelope import utcnow
from callcenter.events.kit.auth import Principal, PrincipalDep, Role, require_roles
from callcenter.events.kit.problems import ProblemError

router = APIRouter(tags=["segments"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Supervisor = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


class Segments(BaseModel):
    customers: dict[str, int]
    at_risk: dict[str, int]


class RulesOut(BaseModel):
    rules: segments.SegmentRules
    recomputed: int | None = None


@router.get("/segments", response_model=Segments, summary="Customers per tier, and at risk")
async def get_segments(principal: PrincipalDep, runtime: RuntimeDep):
    async with runtime.db.read() as conn:
        return await segments.counts(conn, principal.tenant)


@router.get(
    "/segment-rules",
    response_model=RulesOut,
    summary="The tenant's tier rules and churn signals (supervisors)",
)
async def get_rules(principal: Supervisor, runtime: RuntimeDep):
    async with runtime.db.read() as conn:
        rules = await segments.rules_of(conn, principal.tenant)
    if rules is None:
        raise ProblemError(404, "Not found", "this tenant has no segment rules yet")
    return RulesOut(rules=rules)


@router.put(
    "/segment-rules",
    response_model=RulesOut,
    summary="Set the tenant's tier rules and churn signals (admins); recomputes every customer",
)
async def put_rules(body: segments.SegmentRules, principal: Admin, runtime: RuntimeDep):
    async with runtime.db.transaction() as conn:
        recomputed = await segments.set_rules(
            conn, principal.tenant, body, subject=principal.subject, now=utcnow()
        )
    runtime.committed()
    return RulesOut(rules=body, recomputed=recomputed)
