from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from callcenter.crm import customers as model
from callcenter.crm import shredding
from callcenter.crm.api.deps import CustomerId, RuntimeDep, live_customer
from callcenter.crm.audit import record_card_read
from callcenter.crm.store.tables import call_ivr_steps, calls, card_reads, notes
from callcenter.crm.timeline import timeline
from callcenter.events import store
from callcenter.events.catalogue.base import Event
from callcenter.events.kit.auth import Principal, Role, require_roles
from callcenter.events.kit.problems import problem_responses

router = APIRouter(tags=["privacy"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
EVERYTHING = 100_000  # timeline entries of each kind in an export


@router.get(
    "/customers/{customer_id}/export",
    summary="Everything held on a customer (admins): profile, notes, calls, every contact, "
    "access log, events",
    responses=problem_responses(410),
)
async def export_customer(
    customer_id: CustomerId, principal: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    """For a subject access request: with the calls and notes of customers merged into
    this one. The export itself is recorded in the access log."""
    tenant = principal.tenant
    async with runtime.db.transaction() as conn:
        customer = await live_customer(conn, tenant, customer_id)
        ids = [customer_id, *await model.merged_ids(conn, tenant, customer_id)]
        note_rows = await conn.execute(
            select(notes.c.id, notes.c.author, notes.c.text, notes.c.created_at)
            .where(notes.c.tenant == tenant, notes.c.customer_id.in_(ids))
            .order_by(notes.c.created_at)
        )
        call_rows = (
            await conn.execute(
                select(calls.c.call_id, calls.c.ani, calls.c.arrived_at)
                .where(calls.c.tenant == tenant, calls.c.customer_id.in_(ids))
                .order_by(calls.c.arrived_at)
            )
        ).all()
        steps: dict[str, list[dict[str, Any]]] = {row.call_id: [] for row in call_rows}
        if steps:
            step_rows = await conn.execute(
                select(call_ivr_steps)
                .where(call_ivr_steps.c.tenant == tenant, call_ivr_steps.c.call_id.in_(list(steps)))
                .order_by(call_ivr_steps.c.position)
            )
            for step in step_rows:
                steps[step.call_id].append(
                    {"kind": step.kind, "node_id": step.node_id, "digits": step.digits,
                     "timeout": step.timeout, "at": step.at}
                )  # fmt: skip
        reads = await conn.execute(
            select(card_reads.c.subject, card_reads.c.call_id, card_reads.c.read_at)
            .where(card_reads.c.tenant == tenant, card_reads.c.customer_id == customer_id)
            .order_by(card_reads.c.position)
        )
        access_log = [dict(row._mapping) for row in reads]
        contacts = await timeline(conn, tenant, customer_id, limit=EVERYTHING, ids=ids)
        events = await store.read_stream(conn, model.stream_id(customer_id))
        key = await shredding.key_of(conn, tenant, customer_id)
        await record_card_read(conn, principal, customer_id, call_id=None)
    return {
        "customer": customer.view(),
        "notes": [dict(row._mapping) for row in note_rows],
        "calls": [{**row._mapping, "ivr_path": steps[row.call_id]} for row in call_rows],
        "access_log": access_log,
        "timeline": contacts,
        "events": [
            {
                "type": e.type,
                "time": e.time,
                "version": e.stream_version,
                "subject": e.subject,
                "data": opened(e.data, key, customer_id),
            }
            for e in events
        ],
    }


def opened(data: Event, key: bytes | None, customer_id: str) -> dict[str, Any]:
    """An event's data with its sealed personal fields opened."""
    dumped = data.model_dump(mode="json", exclude={"sealed"})
    if "personal" in dumped:
        dumped["personal"] = shredding.personal_fields(data, key, customer_id)
    return dumped


@router.delete(
    "/customers/{customer_id}",
    summary="Erase a customer (admins): their personal data everywhere, their key (events)",
    responses=problem_responses(410),
)
async def erase_customer(
    customer_id: CustomerId, principal: Admin, runtime: RuntimeDep
) -> dict[str, Any]:
    """The right to erasure. The customers merged into this one are erased with it. The
    events stay (so do the counts built on them) but their personal fields, sealed with
    the customer's key, can never be read again: the key is deleted."""
    async with runtime.db.transaction() as conn:
        customer = await live_customer(conn, principal.tenant, customer_id)
        erased_at = await model.erase(conn, principal.tenant, customer, subject=principal.subject)
    runtime.committed()
    await runtime.db.forget_old_versions()
    return {"id": customer_id, "erased_at": erased_at}
