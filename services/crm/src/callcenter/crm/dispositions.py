"""How agents dispositioned calls, on the customer's timeline: routing's CallDispositioned
(any call) and ContactDispositioned (a campaign call), one row per call (a later
disposition of the same call replaces the earlier).

The agent's notes are personal data. Once the call's customer is known (the event names
them, or the CRM identified the call's caller) the notes are kept sealed with that
customer's key, as their other notes are in events: erasing the customer deletes the key
and blanks the column. Notes of a call whose customer is not known yet stay plain until
the call is identified (``seal_pending``; if both are handled at the same instant by the
two consumers, neither sees the other and the notes stay plain: erasure blanks them
anyway, reaching the dispositions of the customer's calls). Nothing is kept of an
erased customer's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import shredding
from callcenter.crm.segments import customer_of_call
from callcenter.crm.store.tables import customers, dispositions
from callcenter.events.catalogue import routing
from callcenter.events.envelope import Envelope, format_time

Dispositioned = routing.CallDispositioned | routing.ContactDispositioned


async def seal_notes(
    conn: AsyncConnection, tenant: str, customer_id: str | None, notes: str
) -> tuple[str, bool]:
    """The notes as kept for this customer, and whether they are sealed."""
    if not notes or customer_id is None:
        return notes, False
    erased_at = (
        await conn.execute(
            select(customers.c.erased_at).where(
                customers.c.tenant == tenant, customers.c.id == customer_id
            )
        )
    ).first()
    if erased_at is None:  # a customer id the CRM does not hold
        return notes, False
    if erased_at[0] is not None:
        return "", False
    key = await shredding.key_for_writing(conn, tenant, customer_id)
    return shredding.seal(key, customer_id, {"notes": notes}), True


async def record(conn: AsyncConnection, envelope: Envelope, data: Dispositioned) -> None:
    """Keep the disposition; its customer is the one the event names, else the caller the
    CRM identified on the call. Applying it again changes nothing."""
    tenant = envelope.tenant
    customer_id = data.customer_id or await customer_of_call(conn, tenant, data.call_id)
    notes, sealed = await seal_notes(conn, tenant, customer_id, data.notes)
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "agent_id": data.agent_id,
        "disposition": data.disposition,
        "notes": notes,
        "sealed": sealed,
        "at": format_time(data.at),
    }
    if isinstance(data, routing.CallDispositioned):
        values |= {"queue_id": data.queue_id, "follow_up": data.follow_up}
    else:
        values |= {
            "campaign_id": data.campaign_id,
            "contact_id": data.contact_id,
            "completed": data.completed,
            "callback_at": format_time(data.callback_at) if data.callback_at else None,
        }
    where = (dispositions.c.tenant == tenant, dispositions.c.call_id == data.call_id)
    changed = await conn.execute(update(dispositions).where(*where).values(**values))
    if changed.rowcount == 0:
        await conn.execute(
            dispositions.insert().values(
                tenant=tenant, call_id=data.call_id, **({"follow_up": False} | values)
            )
        )


async def seal_pending(conn: AsyncConnection, tenant: str, call_id: str, customer_id: str) -> None:
    """The call turned out to be this customer's: seal the notes kept plain until now."""
    rows = await conn.execute(
        select(dispositions.c.notes).where(
            dispositions.c.tenant == tenant,
            dispositions.c.call_id == call_id,
            dispositions.c.customer_id.is_(None),
        )
    )
    for row in rows.all():
        notes, sealed = await seal_notes(conn, tenant, customer_id, row.notes)
        await conn.execute(
            update(dispositions)
            .where(dispositions.c.tenant == tenant, dispositions.c.call_id == call_id)
            .values(customer_id=customer_id, notes=notes, sealed=sealed)
        )


def of_customers(tenant: str, ids: list[str], their_calls: Select) -> tuple[Any, ...]:
    """The dispositions of these customers: naming them, or of their calls."""
    return (
        dispositions.c.tenant == tenant,
        or_(dispositions.c.customer_id.in_(ids), dispositions.c.call_id.in_(their_calls)),
    )


async def timeline_entries(
    conn: AsyncConnection, tenant: str, ids: list[str], their_calls: Select, limit: int
) -> list[dict[str, Any]]:
    rows = await conn.execute(
        select(dispositions)
        .where(*of_customers(tenant, ids, their_calls))
        .order_by(dispositions.c.at.desc())
        .limit(limit)
    )
    keys: dict[str, bytes | None] = {}
    entries = []
    for row in rows:
        notes = row.notes
        if row.sealed:
            if row.customer_id not in keys:
                keys[row.customer_id] = await shredding.key_of(conn, tenant, row.customer_id)
            notes = shredding.unseal(keys[row.customer_id], row.customer_id, notes).get("notes", "")
        entry = {
            "kind": "disposition",
            "at": row.at,
            "call_id": row.call_id,
            "agent_id": row.agent_id,
            "queue_id": row.queue_id,
            "disposition": row.disposition,
            "notes": notes,
            "follow_up": row.follow_up,
        }
        if row.campaign_id is not None:
            entry |= {
                "campaign_id": row.campaign_id,
                "contact_id": row.contact_id,
                "completed": row.completed,
                "callback_at": row.callback_at,
            }
        entries.append(entry)
    return entries
