"""Rebuild the customer read model (customers, their indexes, notes, interactions) by
replaying the store."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.crm import customers as model
from callcenter.crm import shredding
from callcenter.crm.store.tables import (
    customer_emails,
    customer_phones,
    customer_tags,
    customers,
    interactions,
    notes,
)
from callcenter.events import store
from callcenter.events.catalogue import crm
from callcenter.events.envelope import Envelope, format_time

BATCH = 1000


async def rebuild_customers(conn: AsyncConnection) -> int:
    """In the caller's write transaction; returns how many customers were rebuilt."""
    for table in (customer_phones, customer_emails, customer_tags, notes, interactions, customers):
        await conn.execute(delete(table))
    keys = await shredding.all_keys(conn)
    folded: dict[tuple[str, str], model.Customer] = {}
    note_rows = []
    interaction_rows = []
    position = 0
    while batch := await store.read_all(conn, position, BATCH):
        position = batch[-1].position
        for stored in batch:
            if not stored.stream_id.startswith("customer:"):
                continue
            envelope = stored.envelope()
            key = (envelope.tenant, envelope.stream_id.removeprefix("customer:"))
            folded[key] = model.evolve(folded.get(key), envelope, keys.get(key))
            if isinstance(envelope.data, crm.NoteAdded):
                note = envelope.data
                text = shredding.personal_fields(note, keys.get(key), key[1]).get("text", "")
                note_rows.append({
                    "tenant": envelope.tenant, "id": note.note_id,
                    "customer_id": note.customer_id, "author": note.author,
                    "text": text, "created_at": format_time(envelope.time),
                })  # fmt: skip
            if isinstance(envelope.data, crm.InteractionRecorded):
                interaction_rows.append(interaction_row(envelope, keys.get(key)))
    # A customer merged into one that was merged later belongs to the last survivor.
    for (tenant, _), customer in folded.items():
        while customer.merged_into is not None:
            survivor = folded[(tenant, customer.merged_into)]
            if survivor.merged_into is None:
                break
            customer.merged_into = survivor.merged_into
    if folded:
        await conn.execute(
            insert(customers),
            [model.row_values(tenant, customer) for (tenant, _), customer in folded.items()],
        )
    for (tenant, _), customer in folded.items():
        await model.write_indexes(conn, tenant, customer)
    if note_rows:
        await conn.execute(insert(notes), note_rows)
    if interaction_rows:
        await conn.execute(insert(interactions), interaction_rows)
    return len(folded)


def interaction_row(envelope: Envelope, key: bytes | None) -> dict[str, str]:
    data = envelope.data
    assert isinstance(data, crm.InteractionRecorded)
    content = shredding.personal_fields(data, key, data.customer_id)
    return {
        "tenant": envelope.tenant,
        "id": data.interaction_id,
        "customer_id": data.customer_id,
        "channel": data.channel,
        "direction": data.direction,
        "subject": content.get("subject", ""),
        "summary": content.get("summary", ""),
        "author": envelope.subject or "",
        "at": format_time(data.at or envelope.time),
    }
