"""A customer's timeline: every channel and service, merged newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import customers as model
from callcenter.crm import dispositions, shredding
from callcenter.crm.store.tables import (
    call_ivr_steps,
    call_routing,
    callbacks,
    calls,
    csat_answers,
    customers,
    interactions,
    notes,
    work_order_steps,
    work_orders,
)
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


async def record_interaction(
    conn: AsyncConnection,
    tenant: str,
    customer: model.Customer,
    entry: dict[str, Any],
    *,
    author: str,
) -> dict[str, Any]:
    """An SMS, email... posted by an integrator: ``InteractionRecorded`` on the customer's
    stream, its subject and summary sealed with the customer's key."""
    interaction_id = model.new_id()
    key = await shredding.key_for_writing(conn, tenant, customer.id)
    sealed = shredding.seal(
        key, customer.id, {"subject": entry["subject"], "summary": entry["summary"]}
    )
    event = crm.InteractionRecorded(
        customer_id=customer.id,
        channel=entry["channel"],
        direction=entry["direction"],
        interaction_id=interaction_id,
        at=entry["at"],
        sealed=sealed,
    )
    await store.append_to_stream(
        conn,
        model.stream_id(customer.id),
        customer.version,
        [event],
        source=model.SOURCE,
        tenant=tenant,
        correlation_id=customer.id,
        subject=author,
    )
    row = {
        "id": interaction_id,
        "customer_id": customer.id,
        "channel": entry["channel"],
        "direction": entry["direction"],
        "subject": entry["subject"],
        "summary": entry["summary"],
        "author": author,
        "at": format_time(entry["at"]),
    }
    await conn.execute(insert(interactions).values(tenant=tenant, **row))
    await conn.execute(
        update(customers)
        .where(customers.c.tenant == tenant, customers.c.id == customer.id)
        .values(version=customer.version + 1)
    )
    return row


def _newest(query: Select, column: Any, limit: int) -> Select:
    return query.order_by(column.desc()).limit(limit)


async def timeline(
    conn: AsyncConnection,
    tenant: str,
    customer_id: str,
    *,
    limit: int,
    besides_call: str | None = None,
    ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries, newest first, of the customer and of those merged
    into it: calls (IVR path, queue, wait, agent, talk time, outcome, CSAT answers),
    callbacks, how agents dispositioned calls, work orders with their steps, notes, and
    interactions posted by integrators."""
    if ids is None:
        ids = [customer_id, *await model.merged_ids(conn, tenant, customer_id)]
    their_calls = select(calls.c.call_id).where(
        calls.c.tenant == tenant, calls.c.customer_id.in_(ids)
    )
    call_query = _newest(
        select(calls.c.call_id, calls.c.arrived_at, call_routing)
        .outerjoin(
            call_routing,
            (call_routing.c.tenant == calls.c.tenant) & (call_routing.c.call_id == calls.c.call_id),
        )
        .where(calls.c.tenant == tenant, calls.c.customer_id.in_(ids)),
        calls.c.arrived_at,
        limit,
    )
    if besides_call is not None:
        call_query = call_query.where(calls.c.call_id != besides_call)
    call_rows = (await conn.execute(call_query)).all()
    entries = [
        {
            "kind": "call",
            "at": row.arrived_at,
            "call_id": row.call_id,
            "queue_id": row.queue_id,
            "wait": row.wait,
            "agent_id": row.agent_id,
            "duration": row.talk,
            "outcome": row.outcome,
            "ivr_path": [],
            "csat": [],
        }
        for row in call_rows
    ]
    by_call = {entry["call_id"]: entry for entry in entries}
    if by_call:
        steps = await conn.execute(
            select(call_ivr_steps)
            .where(call_ivr_steps.c.tenant == tenant, call_ivr_steps.c.call_id.in_(list(by_call)))
            .order_by(call_ivr_steps.c.position)
        )
        for step in steps:
            by_call[step.call_id]["ivr_path"].append(
                {"kind": step.kind, "node_id": step.node_id, "digits": step.digits}
            )
        answers = await conn.execute(
            select(csat_answers)
            .where(csat_answers.c.tenant == tenant, csat_answers.c.call_id.in_(list(by_call)))
            .order_by(csat_answers.c.at)
        )
        for answer in answers:
            by_call[answer.call_id]["csat"].append(
                {"question": answer.question, "score": answer.score}
            )
    callback_rows = await conn.execute(
        _newest(
            select(callbacks).where(
                callbacks.c.tenant == tenant, callbacks.c.call_id.in_(their_calls)
            ),
            callbacks.c.requested_at,
            limit,
        )
    )
    entries += [
        {
            "kind": "callback",
            "at": row.requested_at,
            "callback_id": row.callback_id,
            "call_id": row.call_id,
            "queue_id": row.queue_id,
            "agent_id": row.agent_id,
            "outcome": row.outcome,
            "attempts": row.attempts,
        }
        for row in callback_rows
    ]
    entries += await _work_orders(conn, tenant, ids, their_calls, limit)
    entries += await dispositions.timeline_entries(conn, tenant, ids, their_calls, limit)
    note_rows = await conn.execute(
        _newest(
            select(notes).where(notes.c.tenant == tenant, notes.c.customer_id.in_(ids)),
            notes.c.created_at,
            limit,
        )
    )
    entries += [
        {
            "kind": "note",
            "at": row.created_at,
            "note_id": row.id,
            "author": row.author,
            "text": row.text,
        }
        for row in note_rows
    ]
    interaction_rows = await conn.execute(
        _newest(
            select(interactions).where(
                interactions.c.tenant == tenant, interactions.c.customer_id.in_(ids)
            ),
            interactions.c.at,
            limit,
        )
    )
    entries += [
        {
            "kind": "interaction",
            "at": row.at,
            "interaction_id": row.id,
            "channel": row.channel,
            "direction": row.direction,
            "author": row.author,
            "subject": row.subject,
            "summary": row.summary,
        }
        for row in interaction_rows
    ]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


def work_orders_of(tenant: str, ids: list[str], their_calls: Select) -> Select:
    """The customer's work orders: opened for them, or for one of their calls."""
    return select(work_orders).where(
        work_orders.c.tenant == tenant,
        or_(work_orders.c.customer_id.in_(ids), work_orders.c.call_id.in_(their_calls)),
    )


async def _work_orders(
    conn: AsyncConnection, tenant: str, ids: list[str], their_calls: Select, limit: int
) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            _newest(work_orders_of(tenant, ids, their_calls), work_orders.c.opened_at, limit)
        )
    ).all()
    entries = {
        row.ticket_id: {
            "kind": "work_order",
            "at": row.opened_at,
            "ticket_id": row.ticket_id,
            "call_id": row.call_id,
            "type": row.type,
            "priority": row.priority,
            "status": row.status,
            "breached": row.breached,
            "steps": [],
        }
        for row in rows
    }
    if entries:
        steps = await conn.execute(
            select(work_order_steps)
            .where(
                work_order_steps.c.tenant == tenant, work_order_steps.c.ticket_id.in_(list(entries))
            )
            .order_by(work_order_steps.c.position)
        )
        for step in steps:
            entries[step.ticket_id]["steps"].append(
                {"step": step.step, "by": step.by, "at": step.at}
            )
    return list(entries.values())


async def open_work_orders(conn: AsyncConnection, tenant: str, ids: list[str]) -> list[Any]:
    """The work orders not yet resolved of a customer (``ids``: theirs and those merged into
    them), oldest first."""
    their_calls = select(calls.c.call_id).where(
        calls.c.tenant == tenant, calls.c.customer_id.in_(ids)
    )
    query = work_orders_of(tenant, ids, their_calls).where(work_orders.c.status == "open")
    return (await conn.execute(query.order_by(work_orders.c.opened_at))).all()
