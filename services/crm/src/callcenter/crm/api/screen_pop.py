from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from callcenter.crm import customers as model
from callcenter.crm.api.customers import CustomerOut
from callcenter.crm.api.deps import CallId, RuntimeDep, not_found
from callcenter.crm.api.timeline import TimelineEntry
from callcenter.crm.audit import record_card_read
from callcenter.crm.store.tables import call_ivr_steps, calls, churn_risks
from callcenter.crm.timeline import open_work_orders, timeline
from callcenter.events.kit.auth import PrincipalDep

router = APIRouter(tags=["screen pop"])
LAST_INTERACTIONS = 10


class IvrStep(BaseModel):
    kind: str
    node_id: str
    node_type: str
    digits: str
    timeout: bool
    at: str


class OpenWorkOrder(BaseModel):
    ticket_id: str
    type: str
    priority: str
    breached: bool
    opened_at: str


class ScreenPop(BaseModel):
    call_id: str
    identified: bool
    customer: CustomerOut | None
    tier: str | None
    churn_risk: bool
    ivr_path: list[IvrStep]
    open_work_orders: list[OpenWorkOrder]
    last_interactions: list[TimelineEntry]


@router.get(
    "/screen-pop/{call_id}",
    response_model=ScreenPop,
    summary="The caller's card for an agent: profile, tier, this call's IVR path, past calls",
)
async def screen_pop(call_id: CallId, principal: PrincipalDep, runtime: RuntimeDep):
    """404 until the CRM has seen the call arrive. Reading a card is recorded in the audit."""
    tenant = principal.tenant
    async with runtime.db.transaction() as conn:
        call = (
            await conn.execute(
                select(calls).where(calls.c.tenant == tenant, calls.c.call_id == call_id)
            )
        ).first()
        if call is None:
            raise not_found(f"call {call_id!r}")
        steps = (
            await conn.execute(
                select(call_ivr_steps)
                .where(call_ivr_steps.c.tenant == tenant, call_ivr_steps.c.call_id == call_id)
                .order_by(call_ivr_steps.c.position)
            )
        ).all()
        customer = None
        history: list[dict[str, Any]] = []
        open_orders: list[Any] = []
        at_risk = False
        if call.customer_id is not None:
            customer = await model.load(conn, tenant, call.customer_id)
            if customer is not None and customer.merged_into is not None:
                customer = await model.load(conn, tenant, customer.merged_into)
            if customer is not None and customer.erased_at is not None:
                customer = None
        if customer is not None:
            ids = [customer.id, *await model.merged_ids(conn, tenant, customer.id)]
            history = await timeline(
                conn, tenant, customer.id, limit=LAST_INTERACTIONS, besides_call=call_id, ids=ids
            )
            open_orders = await open_work_orders(conn, tenant, ids)
            at_risk = bool(
                await conn.scalar(
                    select(churn_risks.c.at_risk).where(
                        churn_risks.c.tenant == tenant, churn_risks.c.customer_id == customer.id
                    )
                )
            )
            await record_card_read(conn, principal, customer.id, call_id=call_id)
    return ScreenPop(
        call_id=call_id,
        identified=customer is not None,
        customer=CustomerOut(**customer.view()) if customer else None,
        tier=customer.tier if customer else None,
        churn_risk=at_risk,
        ivr_path=[IvrStep(**row._mapping) for row in steps],
        open_work_orders=[OpenWorkOrder(**row._mapping) for row in open_orders],
        last_interactions=[TimelineEntry(**item) for item in history],
    )
