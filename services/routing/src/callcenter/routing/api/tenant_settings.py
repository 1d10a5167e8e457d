"""A tenant's routing settings: the not-ready reasons its agents may give."""

from __future__ import annotations

from fastapi import APIRouter

from callcenter.routing.api.deps import AcdDep, Reader, Supervisor, refusals_as_problems
from callcenter.routing.domain import commands as cmd
from callcenter.routing.domain.config import TenantSettings

router = APIRouter(tags=["settings"])


@router.get("/settings", response_model=TenantSettings)
async def get_settings(principal: Reader, acd: AcdDep):
    return (await acd.state(principal.tenant)).settings


@router.put("/settings", response_model=TenantSettings, summary="Replace the routing settings")
async def put_settings(settings: TenantSettings, principal: Supervisor, acd: AcdDep):
    with refusals_as_problems():
        await acd.execute(
            principal.tenant, cmd.ConfigureSettings(settings), correlation_id=principal.tenant
        )
    return settings
