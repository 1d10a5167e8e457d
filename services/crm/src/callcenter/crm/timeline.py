"""A customer's timeline: the calls the screen pop identified and the notes agents added."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import customers as model
from callcenter.crm import shredding
from callcenter.crm.store.tables import call_ivr_steps, calls, customers, notes
from callcenter.events import store
from callcenter.events.catalogue import crm
from callcenter.events.envelope import format_time


async def add_note(
    conn: AsyncConnection, tenant: str, customer: model.Customer, text: str, *, author: str
) -> dict[str, Any]:
    note_id = model.new_id()
    key = await shredding.key_for_writing(conn, tenant, customer.id)
    sealed = shredding.seal(key, customer.id, {"text": text})
    event = crm.NoteAdded(customer_id=customer.id, note_id=note_id, author=author, sealed=sealed)
    [envelope] = await store.append_to_stream(
        conn,
        model.stream_id(customer.id),
        customer.version,
        [event],
        source=model.SOURCE,
        tenant=tenant,
        correlation_id=customer.id,
        subject=author,
    )
    note = {"id": note_id, "author": author, "text": text, "created_at": format_time(envelope.time)}
    await conn.execute(insert(notes).values(tenant=tenant, customer_id=customer.id, **note))
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.id == customer.id)
        .values(version=customer.version + 1)
    )
    return note


async def timeline(
    conn: AsyncConnection,
    tenant: str,
    customer_id: str,
    *,
    limit: int,
    besides_call: str | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries, newest first, of the customer and of those merged
    into it; calls carry their IVR path."""
    ids = [customer_id, *await model.merged_ids(conn, tenant, customer_id)]
    call_query = (
        select(calls.c.call_id, calls.c.arrived_at)
        .where(calls.c.tenant == tenant, calls.c.customer_id.in_(ids))
        .order_by(calls.c.arrived_at.desc())
        .limit(limit)
    )
    if besides_call is not None:
        call_query = call_query.where(calls.c.call_id != besides_call)
    call_rows = (await conn.execute(call_query)).all()
    note_rows = (
        await conn.execute(
            select(notes)
            .where(notes.c.tenant == tenant, notes.c.customer_id.in_(ids))
            .order_by(notes.c.created_at.desc())
            .limit(limit)
        )
    ).all()
    paths: dict[str, list[dict[str, Any]]] = {row.call_id: [] for row in call_rows}
    if paths:
        steps = await conn.execute(
            select(call_ivr_steps)
            .where(call_ivr_steps.c.tenant == tenant, call_ivr_steps.c.call_id.in_(list(paths)))
            .order_by(call_ivr_steps.c.position)
        )
        for step in steps:
            paths[step.call_id].append(
                {"kind": step.kind, "node_id": step.node_id, "digits": step.digits}
            )
    entries = [
        {"kind": "call", "at": row.arrived_at, "call_id": row.call_id,
         "ivr_path": paths[row.call_id]}
        for row in call_rows
    ] + [
        {"kind": "note", "at": row.created_at, "note_id": row.id, "author": row.author,
         "text": row.text}
        for row in note_rows
    ]  # fmt: skip
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]
